"""Every SQL statement of the chat domain.

Turns are appended one exchange at a time, by concurrent requests, so their
position in the transcript is taken under a lock: :meth:`ChatRepository.append`
updates the conversation row first (SQLite's write lock, PostgreSQL's row
lock), growing its ``message_count`` and reading it back in the same
statement, so two messages sent at once never take the same index. Three
statements per append (the update, the insert returning ids, SQLite's
full-text index): this is the hot path of every chat message. So is
:meth:`ChatRepository.get_with_agent`, which reads the conversation a message
is sent to together with the agent that answers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Update, and_, bindparam, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.agents.repository import NATIVE
from convhub.conversations.repository import ConversationRepository, matching_ref
from convhub.kit.repository import WORKSPACE_PARAM, WorkspaceRepository, bound_to_workspace, core_table
from convhub.models import Agent, Conversation, Turn

OPEN_STATUSES = ("initiated", "in-progress")
# ``extra.kind`` of a system turn holding what the application told the agent mid-conversation.
CONTEXTUAL_UPDATE = "contextual_update"

_conversations = core_table(Conversation)
_turns = core_table(Turn)

# The statements of every message, built once (kit/repository.py says why); their parameters are named
# ``p_…`` because an UPDATE reserves the names of its table's columns for itself.

_CONVERSATION_WITH_AGENT = (
    select(Conversation, Agent)
    .outerjoin(Agent, and_(Agent.id == Conversation.agent_id, Agent.workspace_id == Conversation.workspace_id))
    .where(matching_ref(bindparam("p_ref"), bindparam(WORKSPACE_PARAM)))
    .limit(1)
)

# An index range scan: quick for the tens of turns of a chat. A very long history also costs the loop its
# scan now; making its rows into Python objects held the GIL, and so the loop, with the hop as well.
_HISTORY = (
    select(_turns.c.role, _turns.c.message, _turns.c.extra)
    .where(_turns.c.conversation_id == bindparam("p_conversation_id"), bound_to_workspace(_turns.c.workspace_id))
    .order_by(_turns.c.idx)
)


def _append_statement() -> Update:
    c = _conversations.c
    is_open = c.status.in_(OPEN_STATUSES)
    at = bindparam("p_at", type_=c.last_activity_at.type)
    return (
        update(_conversations)
        .where(c.id == bindparam("p_conversation_id"), bound_to_workspace(c.workspace_id))
        .values(
            message_count=c.message_count + bindparam("p_added", type_=Integer),
            updated_at=at,
            # Only while the conversation is open, decided under the row's lock: a reply stored after the
            # chat ended does not restart its clock.
            last_activity_at=case((is_open, at), else_=c.last_activity_at),
            duration_secs=case((is_open, bindparam("p_duration_secs", type_=Integer)), else_=c.duration_secs),
        )
        .returning(c.message_count)
    )


_APPEND = _append_statement()
# ``public_id`` comes from the column's default (one per row), read back here like the key.
_INSERT_TURNS = insert(_turns).returning(_turns.c.id, _turns.c.public_id, sort_by_parameter_order=True)


@dataclass(frozen=True)
class ChatHistory:
    turns: list[tuple[str, str]]
    notes: list[str]


@dataclass(frozen=True)
class IdleChat:
    workspace_id: str
    id: str
    started_at: datetime
    last_activity_at: datetime | None


async def idle_chats(session: AsyncSession, cutoff: datetime, limit: int = 500) -> list[IdleChat]:
    """Open native chats of every workspace with no activity since ``cutoff``, oldest first (the job's input)."""
    last = func.coalesce(Conversation.last_activity_at, Conversation.started_at)
    stmt = (
        select(Conversation.workspace_id, Conversation.id, Conversation.started_at, Conversation.last_activity_at)
        .where(Conversation.provider == NATIVE, Conversation.status.in_(OPEN_STATUSES), last < cutoff)
        .order_by(last, Conversation.id)
        .limit(limit)
    )
    return [IdleChat(*row) for row in await session.execute(stmt)]


class ChatRepository(WorkspaceRepository[Turn]):
    model = Turn

    @property
    def conversations(self) -> ConversationRepository:
        return ConversationRepository(self.session, self.workspace_id)

    # ------------------------------------------------------------------ reads

    async def get_with_agent(self, ref: str) -> tuple[Conversation, Agent | None] | None:
        """The conversation ``ref`` names (convhub id or provider id, as ``get_by_ref``) and its agent (None
        when that is gone) in one statement."""
        row = (await self.run(_CONVERSATION_WITH_AGENT, {"p_ref": ref})).one_or_none()
        return None if row is None else (row[0], row[1])

    async def turn(self, conversation_id: str, turn_id: int) -> Turn | None:
        stmt = self.scoped(select(Turn).where(Turn.id == turn_id, Turn.conversation_id == conversation_id))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_public_id(self, public_id: str) -> Turn | None:
        """The message with this id (``msg_…``) in this workspace, whichever conversation holds it."""
        stmt = self.scoped(select(Turn).where(Turn.public_id == public_id))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def history(self, conversation_id: str) -> ChatHistory:
        """What an agent's context is built from: every turn as (role, text), oldest first, and the
        application's contextual updates among them."""
        history = ChatHistory([], [])
        for role, message, extra in await self.run(_HISTORY, {"p_conversation_id": conversation_id}):
            if role == "system" and isinstance(extra, dict) and extra.get("kind") == CONTEXTUAL_UPDATE:
                history.notes.append(message or "")
            else:
                history.turns.append((role, message or ""))
        return history

    async def page(
        self,
        conversation_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        descending: bool = False,
        limit: int = 50,
    ) -> list[Turn]:
        """Turns with ``after < index < before`` (each bound optional), in index order, at most ``limit``."""
        stmt = self.scoped(select(Turn).where(Turn.conversation_id == conversation_id))
        if after is not None:
            stmt = stmt.where(Turn.idx > after)
        if before is not None:
            stmt = stmt.where(Turn.idx < before)
        stmt = stmt.order_by(Turn.idx.desc() if descending else Turn.idx).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    # ----------------------------------------------------------------- writes

    async def append(
        self, conversation_id: str, rows: Sequence[dict[str, Any]], *, at: datetime, duration_secs: int
    ) -> list[Turn]:
        """Store ``rows`` as the next turns of the transcript; the turns. The conversation was updated at
        ``at``, and, if it is still open, active then too, ``duration_secs`` after its start. Raises
        ``NoResultFound`` when there is no such conversation (nothing is stored then).

        The conversation's row is updated first (``message_count`` grows by the turns added), which takes
        its lock (SQLite's write lock, PostgreSQL's row lock) and says where the new turns go: two appends
        at once never take one index. Native chats only: there ``message_count`` is the transcript's length.
        Whether it is still open is decided by that same update, under that lock, so a caller need not read
        the conversation first to know whether it has ended.
        """
        n = len(rows)
        count = (await self.run(_APPEND, {
            "p_conversation_id": conversation_id, "p_added": n, "p_at": at, "p_duration_secs": duration_secs,
        })).scalar_one()
        placed = [{**row, "idx": count - n + k} for k, row in enumerate(rows)]
        ids = (await self.session.execute(_INSERT_TURNS, placed)).all()
        await self.conversations.index_turns([(id_, row["message"]) for (id_, _), row in zip(ids, placed, strict=True)])
        return [Turn(id=id_, public_id=public_id, **row) for (id_, public_id), row in zip(ids, placed, strict=True)]

    async def set_turn(self, conversation_id: str, turn_id: int, **values: Any) -> None:
        await self.session.execute(
            update(Turn)
            .where(Turn.id == turn_id, Turn.conversation_id == conversation_id, Turn.workspace_id == self.workspace_id)
            .values(**values)
        )

    async def set_conversation(self, conversation_id: str, **values: Any) -> None:
        await self.conversations.set_fields(conversation_id, **values)

    async def end_if_idle(self, chat: IdleChat, **values: Any) -> bool:
        """End ``chat`` unless it moved since it was found idle (a message got in first); whether it ended."""
        unchanged = (
            Conversation.last_activity_at.is_(None)
            if chat.last_activity_at is None
            else Conversation.last_activity_at == chat.last_activity_at
        )
        result = await self.session.execute(
            update(Conversation)
            .where(
                Conversation.id == chat.id,
                Conversation.workspace_id == self.workspace_id,
                Conversation.status.in_(OPEN_STATUSES),
                unchanged,
            )
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))
