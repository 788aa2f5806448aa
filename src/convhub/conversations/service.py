"""Conversations: listing, reading, metadata, feedback, archiving, audio and deletion.

Both API dialects call these functions; they take the session first and never
commit. Conversations are written through :mod:`convhub.conversations.ingest`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from convhub.conversations.repository import ConversationFilters, ConversationRepository, SortField
from convhub.conversations.schemas import (
    MAX_METADATA_BYTES,
    ActiveConversation,
    ConversationDetail,
    ConversationRead,
    ConversationStateRead,
    DataCollectionIn,
    EvaluationResultIn,
    Feedback,
    Status,
    TurnRead,
    metadata_size,
)
from convhub.errors import Conflict, NotFound, Unprocessable
from convhub.kit.pagination import CursorCodec
from convhub.kit.time import as_utc, utcnow
from convhub.models import Agent, Conversation, Turn
from convhub.privacy.audit import record
from convhub.storage.base import BlobStore

MAX_PAGE = 100
FINISHED_STATUSES = (Status.done.value, Status.failed.value)


@dataclass
class Page:
    rows: list[Conversation]
    agents: dict[str, Agent]  # the rows' agents by id
    next_cursor: str | None
    has_more: bool

    @property
    def agent_names(self) -> dict[str, str]:
        return {agent_id: agent.name for agent_id, agent in self.agents.items()}


async def list_conversations(
    session: AsyncSession,
    workspace_id: str,
    filters: ConversationFilters,
    *,
    codec: CursorCodec,
    cursor: str | None = None,
    sort: SortField = "started_at",
    descending: bool = True,
    limit: int = 30,
    agent_refs: list[str] | None = None,
) -> Page:
    """A keyset page. ``agent_refs`` may name agents by convhub id or provider id."""
    repo = ConversationRepository(session, workspace_id)
    if agent_refs:
        filters.agent_ids = await repo.resolve_agent_refs(agent_refs)
    after = _decode_cursor(codec, cursor, sort, descending) if cursor else None
    rows = await repo.page(filters, sort=sort, descending=descending, after=after, limit=limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        value = repo.sort_value(last, sort)
        next_cursor = codec.encode(
            {"v": value.isoformat() if isinstance(value, datetime) else value, "id": last.id},
            scope=_cursor_scope(sort, descending),
        )
    agents = await repo.agents.by_ids(r.agent_id for r in rows)
    return Page(rows=rows, agents=agents, next_cursor=next_cursor, has_more=has_more)


def _cursor_scope(sort: SortField, descending: bool) -> str:
    return f"conversations:{sort}:{'desc' if descending else 'asc'}"


def _decode_cursor(codec: CursorCodec, cursor: str, sort: SortField, descending: bool) -> tuple[Any, str]:
    payload = codec.decode(cursor, scope=_cursor_scope(sort, descending))
    value = payload.get("v")
    if sort == "started_at" and isinstance(value, str):
        value = as_utc(datetime.fromisoformat(value))
    return value, str(payload.get("id"))


async def list_active(session: AsyncSession, workspace_id: str) -> list[ActiveConversation]:
    """Conversations still under way (initiated or in progress), newest first, each with its last turn."""
    repo = ConversationRepository(session, workspace_id)
    rows = await repo.active()
    latest = await repo.latest_turns([r.id for r in rows])
    names = await repo.agent_names(r.agent_id for r in rows)
    return [
        ActiveConversation(
            **to_read(r, names.get(r.agent_id)).model_dump(),
            latest_turn=to_turn(latest[r.id]) if r.id in latest else None,
        )
        for r in rows
    ]


async def find_conversation(
    session: AsyncSession, workspace_id: str, ref: str, *, provider: str | None = None
) -> Conversation | None:
    """The conversation ``ref`` names (convhub's id or the provider's), or None."""
    return await ConversationRepository(session, workspace_id).get_by_ref(ref, provider=provider)


async def get_conversation(
    session: AsyncSession, workspace_id: str, ref: str, *, provider: str | None = None
) -> Conversation:
    conv = await find_conversation(session, workspace_id, ref, provider=provider)
    if conv is None:
        raise NotFound(f"Conversation {ref!r} not found.")
    return conv


async def resolve_agent(session: AsyncSession, workspace_id: str, ref: str) -> str:
    """convhub's id of the agent ``ref`` names (convhub id or a provider's agent id); NotFound otherwise."""
    ids = await ConversationRepository(session, workspace_id).resolve_agent_refs([ref])
    if not ids:
        raise NotFound(f"Agent {ref!r} not found.")
    return ref if ref in ids else sorted(ids)[0]


async def get_turns(session: AsyncSession, conversation: Conversation) -> list[Turn]:
    return await ConversationRepository(session, conversation.workspace_id).turns(conversation.id)


async def agent_of(session: AsyncSession, conversation: Conversation) -> Agent | None:
    """The conversation's agent (its name, and the provider's id for a mirrored one)."""
    agents = await ConversationRepository(session, conversation.workspace_id).agents.by_ids([conversation.agent_id])
    return agents.get(conversation.agent_id)


async def agent_name(session: AsyncSession, conversation: Conversation) -> str | None:
    names = await ConversationRepository(session, conversation.workspace_id).agent_names([conversation.agent_id])
    return names.get(conversation.agent_id)


def to_read(conv: Conversation, agent_name: str | None) -> ConversationRead:
    return ConversationRead(
        id=conv.id,
        provider=conv.provider,
        provider_conversation_id=conv.provider_conversation_id,
        agent_id=conv.agent_id,
        agent_name=agent_name,
        channel=conv.channel,
        direction=conv.direction,
        status=conv.status,
        provider_status=conv.provider_status,
        entity_type=conv.entity_type,
        user_id=conv.user_id,
        customer_number=conv.customer_number,
        agent_number=conv.agent_number,
        started_at=conv.started_at,
        ended_at=conv.ended_at,
        duration_secs=conv.duration_secs,
        message_count=conv.message_count,
        call_successful=conv.call_successful,
        rating=conv.rating,
        feedback=Feedback(likes=conv.feedback_likes, dislikes=conv.feedback_dislikes, comment=conv.feedback_comment),
        summary=conv.summary,
        title=conv.title,
        sentiment=conv.sentiment,
        termination_reason=conv.termination_reason,
        cost_cents=conv.cost_cents,
        metadata=conv.custom_metadata or {},
        has_audio=conv.has_audio,
        archived=conv.archived,
        transfer_to=conv.transfer_to,
        transferred_from_id=conv.transferred_from_id,
        created_at=conv.created_at,
        updated_at=conv.updated_at,
    )


async def to_state_read(session: AsyncSession, conv: Conversation) -> ConversationStateRead:
    return ConversationStateRead(
        **to_read(conv, await agent_name(session, conv)).model_dump(),
        last_activity_at=conv.last_activity_at,
        taken_over_by=conv.taken_over_by,
        taken_over_at=conv.taken_over_at,
    )


def turn_fields(turn: Turn) -> dict[str, Any]:
    """A stored turn as :class:`TurnRead`'s fields (what a chat message adds to them is built on these)."""
    return {
        "id": turn.public_id, "index": turn.idx, "role": turn.role, "message": turn.message,
        "time_in_call_secs": turn.time_in_call_secs, "tool_calls": turn.tool_calls or [],
        "tool_results": turn.tool_results or [], "feedback": turn.feedback, "rating": turn.rating,
        "interrupted": turn.interrupted, "source_medium": turn.source_medium, "llm_usage": turn.llm_usage,
        "created_at": turn.created_at,
    }


def to_turn(turn: Turn) -> TurnRead:
    return TurnRead(**turn_fields(turn))


def to_detail(conv: Conversation, turns: list[Turn], agent_name: str | None) -> ConversationDetail:
    analysis = conv.analysis or {}
    return ConversationDetail(
        **to_read(conv, agent_name).model_dump(),
        evaluation_results=[EvaluationResultIn.model_validate(e) for e in analysis.get("evaluation_results", [])],
        data_collection=[DataCollectionIn.model_validate(d) for d in analysis.get("data_collection", [])],
        transcript=[to_turn(t) for t in turns],
    )


async def update_metadata(
    session: AsyncSession, workspace_id: str, ref: str, patch: dict[str, Any], *, actor: str | None
) -> Conversation:
    """Merge ``patch`` into the conversation's metadata; a ``None`` value removes that key."""
    conv = await get_conversation(session, workspace_id, ref)
    merged = dict(conv.custom_metadata or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    size = metadata_size(merged)
    if size > MAX_METADATA_BYTES:
        raise Unprocessable(
            f"Metadata would be {size} bytes as JSON; the limit is {MAX_METADATA_BYTES}. Remove keys with null.",
            loc=("body", "metadata"),
        )
    now = utcnow()
    await ConversationRepository(session, workspace_id).set_fields(conv.id, custom_metadata=merged, updated_at=now)
    conv.custom_metadata, conv.updated_at = merged, now
    await record(session, workspace_id, actor=actor, action="conversation.metadata_updated",
                 target_type="conversation", target_id=conv.id, detail={"keys": sorted(patch)})
    return conv


async def send_feedback(
    session: AsyncSession, workspace_id: str, ref: str, score: Literal["like", "dislike"] | None,
    *, actor: str | None,
) -> Conversation:
    """Record this API's like/dislike; sending the same score again changes nothing."""
    conv = await get_conversation(session, workspace_id, ref)
    likes, dislikes = conv.feedback_likes, conv.feedback_dislikes
    if conv.feedback_score != score:
        if conv.feedback_score == "like":
            likes = max(0, likes - 1)
        elif conv.feedback_score == "dislike":
            dislikes = max(0, dislikes - 1)
        if score == "like":
            likes += 1
        elif score == "dislike":
            dislikes += 1
    values = {"feedback_score": score, "feedback_likes": likes, "feedback_dislikes": dislikes}
    await ConversationRepository(session, workspace_id).set_fields(conv.id, **values)
    for key, value in values.items():
        setattr(conv, key, value)
    await record(session, workspace_id, actor=actor, action="conversation.feedback",
                 target_type="conversation", target_id=conv.id, detail={"feedback": score})
    return conv


async def archive(session: AsyncSession, workspace_id: str, ref: str, *, actor: str | None) -> Conversation:
    """Set the archived flag on a finished conversation (any source); archiving twice changes nothing."""
    conv = await get_conversation(session, workspace_id, ref)
    if conv.status not in FINISHED_STATUSES:
        raise Conflict(f"Conversation {conv.id!r} is still {conv.status}; only a finished conversation can be "
                       f"archived. End it first (POST /v1/conversations/{conv.id}/end).")
    if conv.archived:
        return conv
    now = utcnow()
    await ConversationRepository(session, workspace_id).set_fields(conv.id, archived=True, updated_at=now)
    conv.archived, conv.updated_at = True, now
    await record(session, workspace_id, actor=actor, action="conversation.archived", target_type="conversation",
                 target_id=conv.id)
    return conv


async def audio_stream(
    conversation: Conversation, store: BlobStore, *, missing: str | None = None
) -> AsyncIterator[bytes]:
    """The conversation's audio as chunks, for both API dialects.

    The first chunk is read before this returns, so a missing recording is a 404 raised before the
    response starts rather than a response cut short. The iterator closes the blob when the client
    hangs up mid-stream.
    """
    no_audio = NotFound(missing or f"Conversation {conversation.id!r} has no audio recording.")
    if not conversation.audio_key:
        raise no_audio
    chunks = store.open(conversation.audio_key)
    try:
        first = await anext(chunks)
    except FileNotFoundError:
        raise no_audio from None
    except StopAsyncIteration:
        first = b""

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    return body()


async def delete_conversation(
    session: AsyncSession, workspace_id: str, ref: str, store: BlobStore, *, actor: str | None
) -> str:
    conv = await get_conversation(session, workspace_id, ref)
    await ConversationRepository(session, workspace_id).delete(conv.id)
    if conv.audio_key:
        await store.delete(conv.audio_key)
    await record(session, workspace_id, actor=actor, action="conversation.deleted", target_type="conversation",
                 target_id=conv.id, detail={"provider": conv.provider,
                                            "provider_conversation_id": conv.provider_conversation_id})
    return conv.id
