"""Provider connections, their sync runs and failures, and inbound webhook events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from convhub.kit.time import utcnow
from convhub.models.base import Base, BigIntPK, JSONType, Timestamped


class ProviderConnection(Timestamped, Base):
    """A vendor account convhub pulls from and takes webhooks for. Secrets are Fernet tokens."""

    __tablename__ = "provider_connections"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str | None] = mapped_column(String(500))
    api_key_encrypted: Mapped[str] = mapped_column(Text)
    api_key_hint: Mapped[str] = mapped_column(String(20))  # last 4 characters, for people to recognise it
    webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    webhook_options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sync_interval_secs: Mapped[int | None]
    unknown_agents: Mapped[str] = mapped_column(String(10), default="create")  # create | skip
    max_concurrency: Mapped[int] = mapped_column(default=15)
    # Sync position: {"watermark": ISO start time of the newest conversation seen by a completed full pass,
    #                 "full_done": bool, "cursor": the list cursor of the pass under way, "pass": "full"|"incremental"}
    sync_state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    last_sync_at: Mapped[datetime | None]
    next_sync_at: Mapped[datetime | None]


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_connection_started", "connection_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("provider_connections.id", ondelete="CASCADE"))
    mode: Mapped[str] = mapped_column(String(12))  # full | incremental
    status: Mapped[str] = mapped_column(String(12))  # queued | running | succeeded | failed | interrupted
    trigger: Mapped[str] = mapped_column(String(12), default="manual")  # manual | api | schedule | demo
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    pages: Mapped[int] = mapped_column(default=0)
    requests: Mapped[int] = mapped_column(default=0)
    resumed_from: Mapped[str | None] = mapped_column(String(40))
    owner: Mapped[str | None] = mapped_column(String(100))  # "host:pid" of the process running it
    heartbeat_at: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class SyncFailure(Base):
    """A conversation a sync could not file; the next run retries it first."""

    __tablename__ = "sync_failures"
    __table_args__ = (UniqueConstraint("connection_id", "provider_conversation_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    connection_id: Mapped[str] = mapped_column(ForeignKey("provider_connections.id", ondelete="CASCADE"))
    provider_conversation_id: Mapped[str] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=1)
    last_run_id: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncFingerprint(Base):
    """The vendor's list item fingerprint as last filed: equal and final means no detail request."""

    __tablename__ = "sync_fingerprints"

    connection_id: Mapped[str] = mapped_column(
        ForeignKey("provider_connections.id", ondelete="CASCADE"), primary_key=True
    )
    provider_conversation_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    final: Mapped[bool] = mapped_column(default=False)


class WebhookEvent(Base):
    """An inbound webhook delivery, stored raw once (``event_key`` is unique per connection)."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("connection_id", "event_key"),
        Index("ix_webhook_events_pending", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    connection_id: Mapped[str] = mapped_column(ForeignKey("provider_connections.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    event_type: Mapped[str] = mapped_column(String(60))
    event_key: Mapped[str] = mapped_column(String(128))
    provider_conversation_id: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="received")  # received | processed | failed
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]

