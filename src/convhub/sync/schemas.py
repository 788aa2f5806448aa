"""Pydantic models of the sync API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SyncCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection_id: str | None = Field(default=None, description="One connection; default: every connection.")
    mode: Literal["auto", "full", "incremental"] = Field(
        default="auto", description="auto: full until a full pass completed once, incremental after."
    )


class SyncRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    connection_id: str
    mode: str
    status: Literal["queued", "running", "succeeded", "failed", "interrupted"] | str
    trigger: str
    counts: dict[str, int]
    errors: list[dict[str, Any]]
    pages: int
    requests: int
    resumed_from: str | None
    started_at: datetime
    heartbeat_at: datetime | None
    finished_at: datetime | None


class SyncRunPage(BaseModel):
    data: list[SyncRunRead]
