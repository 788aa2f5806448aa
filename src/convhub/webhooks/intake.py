"""Fast intake: verified deliveries are written in group commits, and connection secrets are cached.

A vendor may deliver hundreds of webhooks a second. One transaction per
delivery would make SQLite's single writer the bottleneck (and concurrent
writers wait on its busy handler, in sleeps of milliseconds). Instead each
request hands its row to :class:`IntakeWriter` and awaits a future; one writer
task inserts whatever has queued up in a single transaction and resolves the
futures after the commit. A request is answered only once its event is durable,
so "accepted" still means stored.

:class:`ConnectionCache` keeps a connection's decrypted secrets for a few
seconds, so verification costs one HMAC, not a query and two decryptions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convhub.connections.repository import ConnectionLookup
from convhub.db import Database
from convhub.kit.secretbox import SecretBox
from convhub.kit.uow import writer_turn
from convhub.webhooks.repository import WebhookEventRepository

MAX_BATCH = 500


@dataclass(frozen=True)
class CachedConnection:
    id: str
    workspace_id: str
    provider: str
    api_key: str
    webhook_secret: str | None
    webhook_options: dict[str, Any]


class ConnectionCache:
    def __init__(self, database: Database, box: SecretBox, ttl: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.box = box
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[str, tuple[float, CachedConnection | None]] = {}

    async def get(self, connection_id: str) -> CachedConnection | None:
        hit = self._entries.get(connection_id)
        now = self.clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self.database.session() as session:
            row = await ConnectionLookup(session).get(connection_id)
        entry = None if row is None else CachedConnection(
            id=row.id, workspace_id=row.workspace_id, provider=row.provider,
            api_key=self.box.decrypt(row.api_key_encrypted),
            webhook_secret=self.box.decrypt(row.webhook_secret_encrypted) if row.webhook_secret_encrypted else None,
            webhook_options=dict(row.webhook_options or {}),
        )
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[connection_id] = (now + self.ttl, entry)
        return entry


class IntakeWriter:
    """Group commit of webhook events: ``await store(row)`` is True once stored, False for a redelivery."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def store(self, row: dict[str, Any]) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook intake")
        return await future

    async def _run(self) -> None:
        assert self._wake is not None
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                async with self.database.session() as session:
                    await writer_turn(session)
                    stored = await WebhookEventRepository(session).store_events([row for row, _ in batch])
            except Exception as exc:  # the whole group failed to commit: each request gets the error
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), is_new in zip(batch, stored, strict=True):
                if not future.done():
                    future.set_result(is_new)
            if not self._queue:
                self._wake.clear()
                await asyncio.sleep(0)  # let the requests that were just answered queue their successors
