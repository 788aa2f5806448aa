"""Pydantic models of ``/v1/providers``: what a client may send and what it gets back.

Secrets go in (``api_key``, ``webhook_secret``) and never come out:
:class:`ConnectionRead` carries only a hint of the key (its last characters) and
whether a webhook secret is set.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from convhub.kit.validation import check_storable, header_safe, http_url, non_blank, printable
from convhub.providers.registry import ProviderName

UnknownAgents = Literal["create", "skip"]

MAX_SECRET = 2000
MAX_OPTIONS_BYTES = 16 * 1024
MAX_OPTIONS_DEPTH = 16
MIN_INTERVAL_SECS = 10
MAX_INTERVAL_SECS = 366 * 24 * 3600  # a year; the column is a 32-bit integer
MAX_CONCURRENCY = 100


def _options(value: dict[str, Any]) -> dict[str, Any]:
    check_storable(value, "webhook_options", max_depth=MAX_OPTIONS_DEPTH)
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_OPTIONS_BYTES:
        raise ValueError(f"webhook_options is larger than {MAX_OPTIONS_BYTES} bytes as JSON")
    return value


Name = Annotated[str, Field(max_length=200), AfterValidator(non_blank), AfterValidator(printable)]
# Sent as HTTP header values: the API key to the vendor, the webhook secret by Vapi (its bearer-secret mode).
Secret = Annotated[str, Field(max_length=MAX_SECRET), AfterValidator(non_blank), AfterValidator(header_safe)]
BaseUrl = Annotated[str, Field(max_length=500), AfterValidator(http_url("https://api.example.com"))]
Options = Annotated[dict[str, Any], AfterValidator(_options)]
Interval = Annotated[int, Field(ge=MIN_INTERVAL_SECS, le=MAX_INTERVAL_SECS)]
Concurrency = Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]


class ConnectionCreate(BaseModel):
    """A vendor account to sync from and take webhooks for."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderName
    name: Name | None = Field(None, description='A label; default "<provider> connection".')
    api_key: Secret = Field(description="The vendor API key. Stored encrypted; never returned.")
    base_url: BaseUrl | None = Field(None, description="The vendor API's base URL; default: the vendor's own.")
    webhook_secret: Secret | None = Field(
        None, description="The secret the vendor signs webhooks with. Stored encrypted; never returned."
    )
    webhook_options: Options = Field(default_factory=dict, description="Vendor-specific webhook settings.")
    sync_interval_secs: Interval | None = Field(
        None, description="Sync on a schedule every this many seconds; null: only when asked."
    )
    unknown_agents: UnknownAgents = Field(
        "create", description="Conversations of agents convhub does not know: mirror the agent, or skip them."
    )
    max_concurrency: Concurrency = Field(15, description="Vendor requests in flight at once during a sync.")


class ConnectionUpdate(BaseModel):
    """PATCH body: only the fields sent change. ``null`` clears ``base_url``, ``webhook_secret`` and the schedule."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    api_key: Secret | None = None
    base_url: BaseUrl | None = None
    webhook_secret: Secret | None = None
    webhook_options: Options | None = None
    sync_interval_secs: Interval | None = None
    unknown_agents: UnknownAgents | None = None
    max_concurrency: Concurrency | None = None

    @field_validator("name", "api_key", "webhook_options", "unknown_agents", "max_concurrency")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Defaults are not validated, so None here was sent explicitly.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its current value")
        return value


class ConnectionRead(BaseModel):
    id: str
    provider: str
    name: str
    base_url: str | None
    api_key_hint: str = Field(description="The key's last characters, to recognise it by (e.g. …d4f2).")
    has_webhook_secret: bool
    webhook_url: str = Field(description="Where the vendor should post webhooks (a path on this server).")
    webhook_options: dict[str, Any]
    sync_interval_secs: int | None
    unknown_agents: str
    max_concurrency: int
    last_sync_at: datetime | None
    next_sync_at: datetime | None
    watermark: str | None = Field(description="Start time of the newest conversation a completed full sync saw.")
    full_sync_done: bool
    created_at: datetime
    updated_at: datetime


class ConnectionPage(BaseModel):
    data: list[ConnectionRead]


class ConnectionTest(BaseModel):
    ok: bool
    message: str
