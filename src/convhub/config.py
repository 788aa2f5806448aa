"""Settings from the environment (``CONVHUB_*``), with embedded defaults.

With nothing set, convhub runs on a SQLite file and a blob folder under
``./data`` and keeps a generated signing secret there, so a fresh checkout
starts with no configuration at all.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONVHUB_", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Where the SQLite file, blobs and secret live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default sqlite+aiosqlite:///<data_dir>/convhub.db.",
    )
    secret_key: str | None = Field(default=None, description="Signing secret; generated and kept in data_dir.")
    signed_url_ttl_secs: int = 15 * 60
    token_ttl_secs: int = 15 * 60
    realtime_ping_secs: float = Field(
        default=20.0, gt=0, description="How often a realtime WebSocket is pinged (ElevenLabs' ping events)."
    )
    db_pool_size: int = 10
    scheduler: bool = Field(default=True, description="Run scheduled provider syncs in this process.")
    process_webhooks: bool = Field(default=True, description="Process stored webhook events in this process.")
    chat_inactivity_minutes: int = Field(
        default=30, ge=1, description="Chats with no message for this long are ended by the scheduler."
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db; when set, live events go through Redis so every process shares them.",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        """A URL redis-py can open, checked now: else the server would fail at start-up with a traceback."""
        from redis.connection import parse_url

        if value:
            try:
                parse_url(value)  # type: ignore[no-untyped-call]
            except ValueError as exc:  # the message never repeats the URL, which may hold a password
                raise ValueError(f"not a Redis URL ({exc}); expected e.g. redis://localhost:6379/0") from None
        return value or None

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'convhub.db').resolve()}"

    @cached_property
    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
