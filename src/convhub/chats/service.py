"""Chats: start one, take its messages, store the agent's replies, rate, end, take over, analyse.

Functions take the session first and never commit; the request (or the job,
or the reply producer of :mod:`convhub.chats.replies`) owns the
transaction. Each write takes the transaction's writer turn first
(:func:`convhub.kit.uow.writer_turn`): chat messages are the busiest writes. A
chat is created through the one ingest path, under its own id as its provider
id. The rules of a chat's life live here, each a 409 with a message that says
what to do instead: only native chats take messages; an ended or archived one
takes none; while an operator holds a conversation the agent stays silent and
only operator messages are ``human_operator``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.agents import service as agents
from convhub.agents.backends.base import AgentBackend, ChatMessage
from convhub.agents.context import build_messages
from convhub.chats.repository import (
    CONTEXTUAL_UPDATE,
    OPEN_STATUSES,
    ChatLookup,
    ChatRepository,
    IdleChat,
)
from convhub.chats.schemas import (
    ChatConversationCreate,
    ChatConversationRead,
    ConversationAnalytics,
    ConversationEnd,
    ConversationFlow,
    MessageRating,
    MessageRead,
    MessageStatistics,
    Order,
    QualityMetrics,
    SenderRole,
)
from convhub.conversations import service as conversations
from convhub.conversations.ingest import ingest
from convhub.conversations.schemas import AgentRef, ConversationIn, Role, Status
from convhub.errors import Conflict, NotFound, Unprocessable
from convhub.kit.ids import new_id
from convhub.kit.pagination import CursorCodec
from convhub.kit.secretbox import SecretBox
from convhub.kit.time import utcnow
from convhub.kit.uow import writer_turn
from convhub.models import NATIVE, Agent, Conversation, Turn
from convhub.privacy.audit import record

CHANNEL = "chat"
ENDED_REASON = "ended"
INACTIVITY_REASON = "inactivity"
TAKEOVER_NOTICE = "An operator took over the conversation."
RELEASE_NOTICE = "The operator handed the conversation back to the agent."
# Who answers the user: the agent, or an operator standing in for it.
_ANSWERING = frozenset({Role.agent.value, Role.human_operator.value})
_SPOKEN = frozenset({Role.user.value, *_ANSWERING})


@dataclass(frozen=True)
class NewTurn:
    """A turn about to be appended: who said what, and when."""

    role: str
    message: str
    at: datetime
    interrupted: bool = False
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class ReplyContext:
    """What the agent replies from: its backend and the conversation as it sees it."""

    backend: AgentBackend
    messages: list[ChatMessage]


# ---------------------------------------------------------------- reading


def to_message(turn: Turn) -> MessageRead:
    return MessageRead(
        **conversations.turn_fields(turn),
        conversation_id=turn.conversation_id,
        content=turn.message,
        feedback_comment=turn.feedback_comment,
    )


async def to_chat_read(session: AsyncSession, conv: Conversation) -> ChatConversationRead:
    return ChatConversationRead(**(await conversations.to_state_read(session, conv)).model_dump())


async def get_chat(session: AsyncSession, workspace_id: str, ref: str) -> Conversation:
    return await conversations.get_conversation(session, workspace_id, ref)


@dataclass
class MessageSlice:
    conversation: Conversation
    rows: list[Turn]
    next_cursor: str | None
    has_more: bool


async def list_messages(
    session: AsyncSession,
    workspace_id: str,
    ref: str,
    *,
    codec: CursorCodec,
    cursor: str | None = None,
    after: int | None = None,
    before: int | None = None,
    order: Order = "asc",
    limit: int = 50,
) -> MessageSlice:
    """A page of a conversation's messages in transcript order (``desc``: newest first).

    ``after`` / ``before`` bound the page by message index (exclusive); a cursor carries them on.
    """
    conv = await get_chat(session, workspace_id, ref)
    if cursor:
        payload = codec.decode(cursor)
        if payload.get("c") != conv.id or payload.get("o") != order:
            raise Unprocessable("This cursor belongs to another conversation or order; start again without it.",
                                loc=("query", "cursor"))
        after, before = _index(payload.get("a")), _index(payload.get("b"))
    descending = order == "desc"
    rows = await ChatRepository(session, workspace_id).page(
        conv.id, after=after, before=before, descending=descending, limit=limit + 1
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        last = rows[-1].idx
        a, b = (after, last) if descending else (last, before)
        next_cursor = codec.encode({"c": conv.id, "o": order, "a": a, "b": b})
    return MessageSlice(conv, rows, next_cursor, has_more)


def _index(value: Any) -> int | None:
    return value if isinstance(value, int) else None


# ---------------------------------------------------------------- starting and sending


async def create_chat(
    session: AsyncSession, workspace_id: str, body: ChatConversationCreate, *, actor: str | None,
    conversation_id: str | None = None,
) -> Conversation:
    """A new chat with a native agent, in progress from now; under ``conversation_id`` when one was promised
    (a signed URL names it), else a fresh id."""
    agent = await agents.get_agent(session, workspace_id, body.agent_id)
    if agent.provider != NATIVE:
        raise Unprocessable(
            f"Agent {agent.id!r} mirrors a {agent.provider} agent, which {agent.provider} runs; chats need a native "
            "agent (create one with POST /v1/agents).",
            loc=("body", "agent_id"),
        )
    await writer_turn(session)
    now = utcnow()
    conv_id = conversation_id or new_id("conv")
    await ingest(session, workspace_id, ConversationIn(
        provider=NATIVE, provider_conversation_id=conv_id, agent=AgentRef(agent_id=agent.id), channel=CHANNEL,
        status=Status.in_progress, entity_type=body.entity_type, user_id=body.user_id, started_at=now,
        title=body.title, metadata=body.metadata,
    ), conversation_id=conv_id)
    # Active from its start: the inactivity clock runs from now.
    await ChatRepository(session, workspace_id).set_conversation(conv_id, last_activity_at=now)
    await record(session, workspace_id, actor=actor, action="conversation.created", target_type="conversation",
                 target_id=conv_id, detail={"agent_id": agent.id, "channel": CHANNEL})
    return await get_chat(session, workspace_id, conv_id)


def _check_native(conv: Conversation, what: str) -> None:
    if conv.provider != NATIVE:
        raise Conflict(f"Conversation {conv.id!r} is a {conv.provider} conversation, run by {conv.provider}; "
                       f"it {what} through convhub.")


def _check_open(conv: Conversation, what: str) -> None:
    _check_native(conv, what)
    if conv.archived:
        raise Conflict(f"Conversation {conv.id!r} is archived; it {what}. Start a new conversation.")
    if conv.status not in OPEN_STATUSES:
        raise Conflict(f"Conversation {conv.id!r} has ended (status {conv.status}); it {what}. "
                       "Start a new conversation.")


async def accept_message_with_agent(
    session: AsyncSession, workspace_id: str, ref: str, role: SenderRole
) -> tuple[Conversation, Agent | None]:
    """The conversation a message is sent to, once it is clear it may take it, and its agent, read along for
    :func:`reply_context`: one statement where there were two, on the path of every message."""
    found = await ChatRepository(session, workspace_id).get_with_agent(ref)
    if found is None:
        raise NotFound(f"Conversation {ref!r} not found.")  # as get_chat says it
    conv, agent = found
    _check_open(conv, "takes no more messages")
    if role == Role.human_operator.value and conv.taken_over_by is None:
        raise Conflict(f"Conversation {conv.id!r} is not taken over, so the agent is answering; take it over "
                       f"(POST /v1/conversations/{conv.id}/takeover) before sending as human_operator.")
    return conv, agent


def agent_replies(conv: Conversation, role: SenderRole) -> bool:
    """The agent answers users, and only while no operator holds the conversation."""
    return role == Role.user.value and conv.taken_over_by is None


async def reply_context(
    session: AsyncSession, conv: Conversation, box: SecretBox, *, agent: Agent | None = None,
    pending: NewTurn | None = None, prompt: str | None = None,
) -> ReplyContext:
    """The agent's backend and what it sees: the stored history, plus ``pending`` when not yet stored;
    ``prompt`` in place of the agent's system prompt when given. ``agent`` is the conversation's agent when
    the caller read it already (:func:`accept_message_with_agent`)."""
    if agent is None:
        # Not read yet, or read and found gone: then this lookup raises the agent's 404.
        agent = await agents.get_agent(session, conv.workspace_id, conv.agent_id)
    backend = await agents.open_backend(session, conv.workspace_id, agent, box)
    history = await ChatRepository(session, conv.workspace_id).history(conv.id)
    if pending is not None:
        history.turns.append((pending.role, pending.message))
    messages = build_messages(agent, history.turns, conv.custom_metadata or {}, prompt=prompt, notes=history.notes)
    return ReplyContext(backend, messages)


# The conversation's columns an append moves.
_APPEND_MOVES = ("message_count", "updated_at", "last_activity_at", "duration_secs")


def _secs(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _turn_rows(
    workspace_id: str, conversation_id: str, started_at: datetime, turns: Sequence[NewTurn]
) -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": conversation_id, "workspace_id": workspace_id, "role": t.role, "message": t.message,
            "time_in_call_secs": round(_secs(started_at, t.at), 3), "tool_calls": [], "tool_results": [],
            "feedback": None, "feedback_comment": None, "rating": None, "interrupted": t.interrupted,
            "source_medium": "text", "llm_usage": None, "extra": dict(t.extra or {}), "created_at": t.at,
        }
        for t in turns
    ]


async def append_turns(session: AsyncSession, conv: Conversation, turns: Sequence[NewTurn]) -> list[Turn]:
    """Store ``turns`` at the end of the transcript and move the conversation's counters along: its
    inactivity clock and its duration too, while it is open (the append's update decides that).

    Those columns of ``conv`` are expired, as the row has moved on: read them again
    (``session.refresh``) to show them."""
    await writer_turn(session)
    latest = max(t.at for t in turns)
    duration = int(_secs(conv.started_at, latest))
    rows = _turn_rows(conv.workspace_id, conv.id, conv.started_at, turns)
    stored = await ChatRepository(session, conv.workspace_id).append(conv.id, rows, at=latest,
                                                                     duration_secs=duration)
    session.expire(conv, _APPEND_MOVES)
    return stored


async def add_note(session: AsyncSession, conv: Conversation, text: str) -> Turn:
    """Store what the application tells the agent without asking for a reply (a contextual update): a system
    turn the agent sees from its next reply on."""
    _check_open(conv, "takes no more contextual updates")
    (turn,) = await append_turns(session, conv, [NewTurn(Role.system.value, text, utcnow(),
                                                         extra={"kind": CONTEXTUAL_UPDATE})])
    return turn


async def touch(session: AsyncSession, conv: Conversation) -> None:
    """The user is still there: restart the conversation's inactivity clock."""
    _check_open(conv, "cannot be kept open")
    await writer_turn(session)
    now = utcnow()
    await ChatRepository(session, conv.workspace_id).set_conversation(conv.id, last_activity_at=now)
    conv.last_activity_at = now


async def store_reply(
    session: AsyncSession, workspace_id: str, conversation_id: str, text: str, *, started_at: datetime,
    at: datetime, interrupted: bool,
) -> Turn:
    """Append the agent's reply (all of it, or what it got out before it was cut off).

    Without reading the conversation first: ``started_at`` is the conversation's, from whoever started the
    reply (a chat's start never moves), and whether it is still open is decided by the append's update.
    """
    await writer_turn(session)
    reply = NewTurn(Role.agent.value, text, at, interrupted=interrupted)
    rows = _turn_rows(workspace_id, conversation_id, started_at, [reply])
    try:
        (turn,) = await ChatRepository(session, workspace_id).append(
            conversation_id, rows, at=at, duration_secs=int(_secs(started_at, at))
        )
    except NoResultFound:  # deleted while the agent was replying
        raise NotFound(f"Conversation {conversation_id!r} no longer exists.") from None
    return turn


# ---------------------------------------------------------------- rating, ending


MAX_TURN_ID = 2**63 - 1


async def rate_message(
    session: AsyncSession, workspace_id: str, ref: str, message_id: str, body: MessageRating, *, actor: str | None
) -> Turn:
    """Rate a message of conversation ``ref`` (the nested route): named by its id, ``msg_…``, or by the integer
    that named it before messages had ids of their own (clients may have kept one)."""
    conv = await get_chat(session, workspace_id, ref)
    repo = ChatRepository(session, workspace_id)
    turn: Turn | None
    if message_id.isascii() and message_id.isdigit():
        turn = await repo.turn(conv.id, int(message_id)) if 0 < int(message_id) <= MAX_TURN_ID else None
    else:
        turn = await repo.by_public_id(message_id)
    if turn is None or turn.conversation_id != conv.id:
        raise NotFound(f"Message {message_id!r} not found in conversation {conv.id!r}.")
    return await _rate(session, turn, body, actor=actor)


async def rate_message_by_id(
    session: AsyncSession, workspace_id: str, message_id: str, body: MessageRating, *, actor: str | None
) -> Turn:
    """Rate the message ``message_id`` (``msg_…``), whichever of the workspace's conversations holds it."""
    turn = await ChatRepository(session, workspace_id).by_public_id(message_id)
    if turn is None:
        raise NotFound(f"Message {message_id!r} not found.")
    return await _rate(session, turn, body, actor=actor)


async def _rate(session: AsyncSession, turn: Turn, body: MessageRating, *, actor: str | None) -> Turn:
    if turn.role != Role.agent.value:
        raise Unprocessable(f"Message {turn.public_id!r} is a {turn.role} message; only the agent's replies can be "
                            "rated.", loc=("path", "message_id"))
    await ChatRepository(session, turn.workspace_id).set_turn(turn.conversation_id, turn.id, rating=body.rating,
                                                              feedback_comment=body.feedback)
    turn.rating, turn.feedback_comment = body.rating, body.feedback
    await record(session, turn.workspace_id, actor=actor, action="message.rated", target_type="conversation",
                 target_id=turn.conversation_id, detail={"message_id": turn.public_id, "rating": body.rating})
    return turn


async def end_chat(
    session: AsyncSession, workspace_id: str, ref: str, body: ConversationEnd, *, actor: str | None,
    reason: str = ENDED_REASON,
) -> Conversation:
    """Mark a chat done now (``termination_reason``: ``reason``), with the user's rating and comment when
    given."""
    conv = await get_chat(session, workspace_id, ref)
    _check_native(conv, "cannot be ended")
    if conv.status not in OPEN_STATUSES:
        raise Conflict(f"Conversation {conv.id!r} has already ended (status {conv.status}).")
    await writer_turn(session)
    now = utcnow()
    values: dict[str, Any] = {
        "status": Status.done.value, "ended_at": now, "duration_secs": int(_secs(conv.started_at, now)),
        "termination_reason": reason, "updated_at": now,
    }
    if body.rating is not None:
        values["rating"] = body.rating
    if body.feedback is not None:
        values["feedback_comment"] = body.feedback
    await ChatRepository(session, workspace_id).set_conversation(conv.id, **values)
    for key, value in values.items():
        setattr(conv, key, value)
    await record(session, workspace_id, actor=actor, action="conversation.ended", target_type="conversation",
                 target_id=conv.id,
                 detail={"rating": body.rating, "has_feedback": body.feedback is not None, "reason": reason})
    return conv


# ---------------------------------------------------------------- takeover


async def take_over(
    session: AsyncSession, workspace_id: str, ref: str, *, operator: str
) -> tuple[Conversation, Turn | None]:
    """Hand the conversation to ``operator`` (an API key id): the agent stops replying.

    Taking over again what one already holds changes nothing (no second notice).
    """
    conv = await get_chat(session, workspace_id, ref)
    _check_open(conv, "cannot be taken over")
    if conv.taken_over_by == operator:
        return conv, None
    if conv.taken_over_by is not None:
        raise Conflict(f"Conversation {conv.id!r} is already held by operator {conv.taken_over_by!r}; it must be "
                       "released first.")
    await writer_turn(session)
    now = utcnow()
    await ChatRepository(session, workspace_id).set_conversation(conv.id, taken_over_by=operator, taken_over_at=now)
    conv.taken_over_by, conv.taken_over_at = operator, now
    (notice,) = await append_turns(session, conv, [NewTurn(Role.system.value, TAKEOVER_NOTICE, now)])
    await session.refresh(conv, _APPEND_MOVES)
    await record(session, workspace_id, actor=operator, action="conversation.taken_over",
                 target_type="conversation", target_id=conv.id)
    return conv, notice


async def release(
    session: AsyncSession, workspace_id: str, ref: str, *, actor: str
) -> tuple[Conversation, Turn, str]:
    """Hand the conversation back to the agent, which replies again from the next message; and who held it."""
    conv = await get_chat(session, workspace_id, ref)
    _check_open(conv, "cannot be released")
    if conv.taken_over_by is None:
        raise Conflict(f"Conversation {conv.id!r} is not taken over; the agent is already answering.")
    previous = conv.taken_over_by
    await writer_turn(session)
    now = utcnow()
    await ChatRepository(session, workspace_id).set_conversation(conv.id, taken_over_by=None, taken_over_at=None)
    conv.taken_over_by, conv.taken_over_at = None, None
    (notice,) = await append_turns(session, conv, [NewTurn(Role.system.value, RELEASE_NOTICE, now)])
    await session.refresh(conv, _APPEND_MOVES)
    await record(session, workspace_id, actor=actor, action="conversation.released", target_type="conversation",
                 target_id=conv.id, detail={"operator": previous})
    return conv, notice, previous


# ---------------------------------------------------------------- inactivity


async def end_inactive(session: AsyncSession, now: datetime, minutes: int) -> list[IdleChat]:
    """End the open native chats of every workspace idle for ``minutes`` or more; those it ended.

    An idle chat ends at its last activity (so its duration is the time it was in use), with
    ``termination_reason`` ``inactivity``.
    """
    ended: list[IdleChat] = []
    idle = await ChatLookup(session).idle(now - timedelta(minutes=minutes))
    if idle:
        await writer_turn(session)
    for chat in idle:
        last = chat.last_activity_at or chat.started_at
        done = await ChatRepository(session, chat.workspace_id).end_if_idle(
            chat, status=Status.done.value, ended_at=last, duration_secs=int(_secs(chat.started_at, last)),
            termination_reason=INACTIVITY_REASON, updated_at=now,
        )
        if done:
            ended.append(chat)
            await record(session, chat.workspace_id, actor=None, action="conversation.ended",
                         target_type="conversation", target_id=chat.id, detail={"reason": INACTIVITY_REASON})
    return ended


# ---------------------------------------------------------------- analytics


async def analytics(session: AsyncSession, workspace_id: str, ref: str) -> ConversationAnalytics:
    conv = await get_chat(session, workspace_id, ref)
    turns = await conversations.get_turns(session, conv)
    return ConversationAnalytics(
        conversation_id=conv.id,
        message_statistics=_message_statistics(turns),
        conversation_flow=_flow(conv, turns),
        quality_metrics=_quality(conv, turns),
    )


def _message_statistics(turns: Sequence[Turn]) -> MessageStatistics:
    by_role = Counter(t.role for t in turns)
    lengths: dict[str, list[int]] = {}
    for t in turns:
        if t.role in _SPOKEN and t.message:
            lengths.setdefault(t.role, []).append(len(t.message))
    spoken = [n for values in lengths.values() for n in values]
    return MessageStatistics(
        total_messages=len(turns),
        by_role=dict(sorted(by_role.items())),
        average_message_length=round(fmean(spoken), 1) if spoken else None,
        average_length_by_role={role: round(fmean(values), 1) for role, values in sorted(lengths.items())},
    )


def _flow(conv: Conversation, turns: Sequence[Turn]) -> ConversationFlow:
    said = [t for t in turns if t.role in _SPOKEN]
    waits: list[float] = []
    asked: Turn | None = None
    for t in said:
        if t.role == Role.user.value:
            asked = asked or t  # the wait runs from the first of several messages in a row
        elif asked is not None:
            waits.append(max(0.0, t.time_in_call_secs - asked.time_in_call_secs))
            asked = None
    sides = ["user" if t.role == Role.user.value else "answer" for t in said]
    changes = sum(1 for i, side in enumerate(sides) if i == 0 or side != sides[i - 1])
    return ConversationFlow(
        status=conv.status,
        started_at=conv.started_at,
        ended_at=conv.ended_at,
        duration_minutes=round(conv.duration_secs / 60, 2),
        first_response_time_secs=round(waits[0], 3) if waits else None,
        average_response_time_secs=round(fmean(waits), 3) if waits else None,
        turns=changes,
    )


def _quality(conv: Conversation, turns: Sequence[Turn]) -> QualityMetrics:
    ratings = [t.rating for t in turns if t.role == Role.agent.value and t.rating is not None]
    return QualityMetrics(
        satisfaction_rating=conv.rating,
        average_message_rating=round(fmean(ratings), 2) if ratings else None,
        rated_messages=len(ratings),
        likes=conv.feedback_likes,
        dislikes=conv.feedback_dislikes,
        feedback_comment=conv.feedback_comment,
        interrupted_replies=sum(1 for t in turns if t.role == Role.agent.value and t.interrupted),
    )
