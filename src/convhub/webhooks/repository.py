"""Every SQL statement of the inbound webhook domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.models import Agent, Conversation, WebhookEvent


async def store_event(session: AsyncSession, row: dict[str, Any]) -> int | None:
    """Insert the raw event unless its (connection, event key) is already stored; its id, or None if it was."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(WebhookEvent)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["connection_id", "event_key"])
        .returning(WebhookEvent.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def pending_events(session: AsyncSession, limit: int, max_attempts: int) -> list[WebhookEvent]:
    stmt = (
        select(WebhookEvent)
        .where(WebhookEvent.status == "received", WebhookEvent.attempts < max_attempts)
        .order_by(WebhookEvent.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def mark_events(session: AsyncSession, updates: Sequence[tuple[int, dict[str, Any]]]) -> None:
    for event_id, values in updates:
        await session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(**values))


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


async def count_events(session: AsyncSession, connection_id: str, since: datetime | None = None) -> dict[str, int]:
    from sqlalchemy import func

    stmt = select(WebhookEvent.status, func.count()).where(WebhookEvent.connection_id == connection_id)
    if since is not None:
        stmt = stmt.where(WebhookEvent.received_at >= since)
    return {str(status): int(n) for status, n in await session.execute(stmt.group_by(WebhookEvent.status))}
