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

from sqlalchemy import case, func, insert

from convhub.conversations.repository import ConversationRepository
from convhub.kit.repository import CrossWorkspaceRepository, WorkspaceRepository, core_table
from convhub.models import NATIVE, Agent, Conversation, Turn

OPEN_STATUSES = ("initiated", "in-progress")
# ``extra.kind`` of a system turn holding what the application told the agent mid-conversation.
CONTEXTUAL_UPDATE = "contextual_update"

_conversations = core_table(Conversation)
_turns = core_table(Turn)
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


class ChatLookup(CrossWorkspaceRepository[Conversation]):
    model = Conversation

    async def idle(self, cutoff: datetime, limit: int = 500) -> list[IdleChat]:
        """Open native chats with no activity since ``cutoff``, oldest first: across workspaces, since the
        job that ends them serves every workspace (each is then ended through its own workspace)."""
        last = func.coalesce(Conversation.last_activity_at, Conversation.started_at)
        stmt = (
            self.select(Conversation.workspace_id, Conversation.id, Conversation.started_at,
                        Conversation.last_activity_at)
            .where(Conversation.provider == NATIVE, Conversation.status.in_(OPEN_STATUSES), last < cutoff)
            .order_by(last, Conversation.id)
            .limit(limit)
        )
        return [IdleChat(*row) for row in await self.session.execute(stmt)]


class ChatRepository(WorkspaceRepository[Turn]):
    model = Turn

    @property
    def conversations(self) -> ConversationRepository:
        return ConversationRepository(self.session, self.workspace_id)

    # ------------------------------------------------------------------ reads

    async def get_with_agent(self, ref: str) -> tuple[Conversation, Agent | None] | None:
        """The conversation ``ref`` names (convhub id or provider id, as ``get_by_ref``) and its agent (None
        when that is gone) in one statement."""
        return await self.conversations.get_with_agent(ref)

    async def turn(self, conversation_id: str, turn_id: int) -> Turn | None:
        found: Turn | None = await self.get_one_or_none(
            self.select().where(Turn.id == turn_id, Turn.conversation_id == conversation_id)
        )
        return found

    async def by_public_id(self, public_id: str) -> Turn | None:
        """The message with this id (``msg_…``) in this workspace, whichever conversation holds it."""
        found: Turn | None = await self.get_one_or_none(self.select().where(Turn.public_id == public_id))
        return found

    async def history(self, conversation_id: str) -> ChatHistory:
        """What an agent's context is built from: every turn as (role, text), oldest first, and the
        application's contextual updates among them."""
        history = ChatHistory([], [])
        stmt = self.select(Turn.role, Turn.message, Turn.extra).where(Turn.conversation_id == conversation_id)
        for role, message, extra in await self.session.execute(stmt.order_by(Turn.idx)):
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
        stmt = self.select().where(Turn.conversation_id == conversation_id)
        if after is not None:
            stmt = stmt.where(Turn.idx > after)
        if before is not None:
            stmt = stmt.where(Turn.idx < before)
        stmt = stmt.order_by(Turn.idx.desc() if descending else Turn.idx).limit(limit)
        return await self.get_all(stmt)

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
        c = _conversations.c
        is_open = c.status.in_(OPEN_STATUSES)
        grow = (
            self.update_where(c.id == conversation_id, target=_conversations)
            .values(
                message_count=c.message_count + n,
                updated_at=at,
                # Only while the conversation is open, decided under the row's lock: a reply stored after the
                # chat ended does not restart its clock.
                last_activity_at=case((is_open, at), else_=c.last_activity_at),
                duration_secs=case((is_open, duration_secs), else_=c.duration_secs),
            )
            .returning(c.message_count)
        )
        count = (await self.session.execute(grow)).scalar_one()
        placed = [{**row, "idx": count - n + k} for k, row in enumerate(rows)]
        self._check(placed)
        ids = (await self.session.execute(_INSERT_TURNS, placed)).all()
        await self.conversations.index_turns([(id_, row["message"]) for (id_, _), row in zip(ids, placed, strict=True)])
        return [Turn(id=id_, public_id=public_id, **row) for (id_, public_id), row in zip(ids, placed, strict=True)]

    async def set_turn(self, conversation_id: str, turn_id: int, **values: Any) -> None:
        await self.session.execute(
            self.update_where(Turn.id == turn_id, Turn.conversation_id == conversation_id).values(**values)
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
            self.update_where(Conversation.id == chat.id, Conversation.status.in_(OPEN_STATUSES), unchanged,
                              target=Conversation).values(**values)
        )
        return bool(getattr(result, "rowcount", 0))
