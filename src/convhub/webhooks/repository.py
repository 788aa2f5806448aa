"""Every SQL statement of the inbound webhook domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.models import Agent, Conversation, WebhookEvent


async def store_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[bool]:
    """Insert the raw events not stored yet (by connection and event key); per row, whether it was new.

    Three statements whatever the batch size: which keys exist, one multi-row insert
    (which still ignores a key another process stored meanwhile), done.
    """
    if not rows:
        return []
    keys = {(r["connection_id"], r["event_key"]) for r in rows}
    stmt = select(WebhookEvent.connection_id, WebhookEvent.event_key).where(
        WebhookEvent.connection_id.in_({c for c, _ in keys}), WebhookEvent.event_key.in_({k for _, k in keys})
    )
    existing = {(row[0], row[1]) for row in await session.execute(stmt)}
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
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(WebhookEvent).on_conflict_do_nothing(index_elements=["connection_id", "event_key"]), fresh
        )
    return new


async def pending_events(session: AsyncSession, limit: int, max_attempts: int) -> list[WebhookEvent]:
    stmt = (
        select(WebhookEvent)
        .where(WebhookEvent.status == "received", WebhookEvent.attempts < max_attempts)
        .order_by(WebhookEvent.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def mark_events(session: AsyncSession, updates: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Each event's new status fields, grouped so that rows with the same fields go in one executemany."""
    table = cast(Table, WebhookEvent.__table__)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for event_id, values in updates:
        row = {"event_id": event_id, **{f"new_{name}": value for name, value in values.items()}}
        groups.setdefault(tuple(sorted(values)), []).append(row)
    for fields, rows in groups.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("event_id"))
            .values({name: bindparam(f"new_{name}") for name in fields})
        )
        await session.execute(stmt, rows)


async def stored_conversations(
    session: AsyncSession, workspace_id: str, provider: str, provider_ids: Sequence[str]
) -> dict[str, tuple[str, dict[str, Any] | None, str | None]]:
    """provider id → (conversation id, raw vendor object, audio key) for those already filed."""
    if not provider_ids:
        return {}
    stmt = select(
        Conversation.provider_conversation_id, Conversation.id, Conversation.raw, Conversation.audio_key
    ).where(
        Conversation.workspace_id == workspace_id,
        Conversation.provider == provider,
        Conversation.provider_conversation_id.in_(list(provider_ids)),
    )
    return {row[0]: (row[1], row[2], row[3]) for row in await session.execute(stmt)}


async def known_agents(session: AsyncSession, workspace_id: str, provider: str) -> set[str]:
    stmt = select(Agent.provider_agent_id).where(
        Agent.workspace_id == workspace_id, Agent.provider == provider, Agent.provider_agent_id.is_not(None)
    )
    return {str(a) for a in (await session.execute(stmt)).scalars()}


async def set_audio(session: AsyncSession, workspace_id: str, keys: dict[str, str]) -> None:
    for conversation_id, key in keys.items():
        await session.execute(
            update(Conversation)
            .where(Conversation.workspace_id == workspace_id, Conversation.id == conversation_id)
            .values(audio_key=key, has_audio=True)
        )

