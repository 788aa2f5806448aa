"""Every SQL statement on inbound webhook events.

Across workspaces by design: intake stores the deliveries of every
connection in shared batches, and the processor takes the pending events of
all workspaces (it then files each group through its own workspace's
repositories).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from convhub.kit.repository import CrossWorkspaceRepository, core_table
from convhub.models import WebhookEvent


class WebhookEventRepository(CrossWorkspaceRepository[WebhookEvent]):
    model = WebhookEvent

    async def store_events(self, rows: Sequence[dict[str, Any]]) -> list[bool]:
        """Insert the raw events not stored yet (by connection and event key); per row, whether it was new.

        Three statements whatever the batch size: which keys exist, one multi-row insert
        (which still ignores a key another process stored meanwhile), done.
        """
        if not rows:
            return []
        keys = {(r["connection_id"], r["event_key"]) for r in rows}
        stmt = self.select(WebhookEvent.connection_id, WebhookEvent.event_key).where(
            WebhookEvent.connection_id.in_({c for c, _ in keys}), WebhookEvent.event_key.in_({k for _, k in keys})
        )
        existing = {(row[0], row[1]) for row in await self.session.execute(stmt)}
        new: list[bool] = []
        fresh: list[dict[str, Any]] = []
        for row in rows:
            key = (row["connection_id"], row["event_key"])
            is_new = key not in existing
            new.append(is_new)
            if is_new:
                existing.add(key)  # the same event twice in one batch: the second is a redelivery
                fresh.append(row)
        if fresh:
            insert = pg_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
            await self.session.execute(
                insert(WebhookEvent).on_conflict_do_nothing(index_elements=["connection_id", "event_key"]), fresh
            )
        return new

    async def pending(self, limit: int, max_attempts: int) -> list[WebhookEvent]:
        """The oldest events still to process, of every workspace."""
        stmt = (
            self.select()
            .where(WebhookEvent.status == "received", WebhookEvent.attempts < max_attempts)
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
        return await self.get_all(stmt)

    async def mark(self, updates: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Each event's new status fields, grouped so that rows with the same fields go in one executemany."""
        table = core_table(WebhookEvent)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for event_id, values in updates:
            row = {"event_id": event_id, **{f"new_{name}": value for name, value in values.items()}}
            groups.setdefault(tuple(sorted(values)), []).append(row)
        for fields, rows in groups.items():
            stmt = self.update_where(table.c.id == bindparam("event_id"), target=table).values(
                {name: bindparam(f"new_{name}") for name in fields}
            )
            await self.session.execute(stmt, rows)
