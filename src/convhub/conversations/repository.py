"""Every SQL statement of the conversations domain.

List queries are keyset-paginated on ``(sort column, id)`` and every statement
is scoped to the repository's workspace by the shared base.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    column,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    table,
    text,
    union_all,
)

from convhub.agents.repository import AgentRepository
from convhub.kit.repository import WorkspaceRepository
from convhub.models import Agent, Conversation, DataCollectionValue, EvaluationResult, ToolUsage, Turn

SortField = Literal["started_at", "duration", "rating"]
DataOp = Literal["eq", "neq", "gt", "gte", "lt", "lte", "in", "exists", "missing"]


@dataclass(frozen=True)
class DataCondition:
    """One ``data_collection_params`` condition, already validated."""

    field_id: str
    op: DataOp
    values: tuple[str, ...] = ()


@dataclass
class ConversationFilters:
    agent_ids: list[str] | None = None  # convhub agent ids (already resolved)
    provider: str | None = None
    status: str | None = None
    channel: str | None = None
    direction: str | None = None
    entity_type: str | None = None
    user_id: str | None = None
    customer_number: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    duration_min: int | None = None
    duration_max: int | None = None
    rating_min: float | None = None
    rating_max: float | None = None
    call_successful: str | None = None
    has_audio: bool | None = None
    has_feedback_comment: bool | None = None
    archived: bool | None = None
    metadata: list[tuple[str, str]] = field(default_factory=list)
    evaluations: list[tuple[str, str]] = field(default_factory=list)
    data_collection: list[DataCondition] = field(default_factory=list)
    tool_names: list[str] = field(default_factory=list)
    search: str | None = None


_WORD = re.compile(r"\w+", re.UNICODE)
# SQLite's full-text index of turns (PostgreSQL's is a generated column of ``turns``).
_TURNS_FTS = table("turns_fts", column("rowid"), column("message"))
# Conversations not final yet: a sync re-checks those that started lately.
UNFINISHED = ("initiated", "in-progress", "processing")


def _number(value: str) -> float | None:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return 1.0 if lowered == "true" else 0.0
    try:
        return float(value)
    except ValueError:
        return None


class ConversationRepository(WorkspaceRepository[Conversation]):
    model = Conversation

    @property
    def agents(self) -> AgentRepository:
        return AgentRepository(self.session, self.workspace_id)

    # ------------------------------------------------------------------ reads

    def _matching_id(self, ref: str, provider: str | None = None) -> Any:
        """The id of the conversation of this workspace that ``ref`` names, as a scalar subquery: its convhub
        id, or the provider's original id (only ``provider``'s, when given).

        Written as the union of two index searches rather than ``(id = ref OR provider's id = ref)``: given
        that, SQLite (with no statistics gathered) walks the whole workspace through an index on
        ``workspace_id`` instead, 40 ms a lookup in a workspace of 100,000 conversations. Only ids: selecting
        the entity through an alias of the union cost ~5 ms of Python a lookup to build (the ORM adapting
        every column), more than the query.
        """
        by_id = self.select(Conversation.id).where(Conversation.id == ref)
        by_provider = self.select(Conversation.id).where(Conversation.provider_conversation_id == ref)
        if provider is not None:
            by_provider = by_provider.where(Conversation.provider == provider)
        return union_all(by_id, by_provider).limit(1).scalar_subquery()

    def by_ref_statement(self, ref: str, *, provider: str | None = None) -> Select[Any]:
        """The statement of :meth:`get_by_ref`."""
        return self.select().where(Conversation.id == self._matching_id(ref, provider))

    def with_agent_statement(self, ref: str) -> Select[Any]:
        """The statement of :meth:`get_with_agent`."""
        return (
            self.select(Conversation, Agent)
            .outerjoin(Agent, and_(Agent.id == Conversation.agent_id, self.scope(Agent)))
            .where(Conversation.id == self._matching_id(ref))
        )

    async def get_by_ref(self, ref: str, *, provider: str | None = None) -> Conversation | None:
        """By convhub id, or by the provider's original id (optionally only that provider's)."""
        found: Conversation | None = await self.get_one_or_none(self.by_ref_statement(ref, provider=provider))
        return found

    async def get_with_agent(self, ref: str) -> tuple[Conversation, Agent | None] | None:
        """The conversation ``ref`` names (as :meth:`get_by_ref`) and its agent (None when that is gone), in one
        statement: every chat message reads both."""
        row = (await self.session.execute(self.with_agent_statement(ref))).one_or_none()
        return None if row is None else (row[0], row[1])

    async def turns(self, conversation_id: str) -> list[Turn]:
        stmt = self.scoped(select(Turn).where(Turn.conversation_id == conversation_id), Turn).order_by(Turn.idx)
        return await self.get_all(stmt)

    async def latest_turns(self, conversation_ids: Sequence[str]) -> dict[str, Turn]:
        """conversation id → its last turn, for those that have any."""
        if not conversation_ids:
            return {}
        last = self.scoped(
            select(Turn.conversation_id, func.max(Turn.idx).label("idx"))
            .where(Turn.conversation_id.in_(conversation_ids))
            .group_by(Turn.conversation_id),
            Turn,
        ).subquery()
        stmt = self.scoped(
            select(Turn).join(last, and_(Turn.conversation_id == last.c.conversation_id, Turn.idx == last.c.idx)),
            Turn,
        )
        return {t.conversation_id: t for t in await self.get_all(stmt)}

    async def agent_names(self, agent_ids: Iterable[str]) -> dict[str, str]:
        return await self.agents.names(agent_ids)

    async def resolve_agent_refs(self, refs: Sequence[str]) -> list[str]:
        """convhub agent ids for refs that are convhub ids or providers' agent ids."""
        return await self.agents.resolve_refs(refs)

    def _sort_expr(self, sort: SortField) -> ColumnElement[Any]:
        if sort == "duration":
            return Conversation.duration_secs.expression
        if sort == "rating":
            return func.coalesce(Conversation.rating, 0)
        return Conversation.started_at.expression

    async def page(
        self,
        filters: ConversationFilters,
        *,
        sort: SortField = "started_at",
        descending: bool = True,
        after: tuple[Any, str] | None = None,
        limit: int = 30,
    ) -> list[Conversation]:
        """One page: rows strictly after the keyset position ``after`` = (sort value, id)."""
        stmt = self.select().where(*self._conditions(filters, sort))
        keys = (self._sort_expr(sort), Conversation.id.expression)
        return await self.paginate(stmt, keys=keys, after=after, descending=descending, limit=limit)

    def sort_value(self, row: Conversation, sort: SortField) -> Any:
        if sort == "duration":
            return row.duration_secs
        if sort == "rating":
            return row.rating or 0
        return row.started_at

    async def active(self, limit: int = 200) -> list[Conversation]:
        stmt = (
            self.select()
            .where(Conversation.status.in_(("initiated", "in-progress")))
            .order_by(Conversation.started_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
        return await self.get_all(stmt)

    async def count_of_agent(self, agent_id: str) -> int:
        stmt = self.select(func.count()).where(Conversation.agent_id == agent_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def count_by_provider(self) -> dict[str, int]:
        stmt = self.select(Conversation.provider, func.count()).group_by(Conversation.provider)
        return {str(provider): int(n) for provider, n in await self.session.execute(stmt)}

    async def count_with_audio(self) -> int:
        stmt = self.select(func.count()).where(Conversation.audio_key.is_not(None))
        return int((await self.session.execute(stmt)).scalar_one())

    async def unfinished(self, provider: str, *, after: datetime, before: datetime | None) -> list[str]:
        """Provider ids of this provider's conversations not yet final that started in [after, before)."""
        stmt = self.select(Conversation.provider_conversation_id).where(
            Conversation.provider == provider,
            Conversation.status.in_(UNFINISHED),
            Conversation.started_at >= after,
        )
        if before is not None:
            stmt = stmt.where(Conversation.started_at < before)
        return list((await self.session.execute(stmt.limit(5000))).scalars())

    def _conditions(self, f: ConversationFilters, sort: SortField = "started_at") -> list[ColumnElement[bool]]:
        c = Conversation
        out: list[ColumnElement[bool]] = []
        equal = {
            c.provider: f.provider,
            c.status: f.status,
            c.channel: f.channel,
            c.direction: f.direction,
            c.entity_type: f.entity_type,
            c.user_id: f.user_id,
            c.customer_number: f.customer_number,
            c.call_successful: f.call_successful,
            c.has_audio: f.has_audio,
            c.archived: f.archived,
        }
        out.extend(column == value for column, value in equal.items() if value is not None)
        if f.agent_ids is not None:
            out.append(c.agent_id.in_(f.agent_ids) if f.agent_ids else false())
        # A range on duration or rating is written "column + 0" unless the page is sorted by it: SQLite
        # would otherwise walk that column's index and sort every match (0.5 s at 100k rows) instead of
        # walking the sort index and stopping after one page.
        duration = c.duration_secs if sort == "duration" else c.duration_secs + 0
        rating = c.rating if sort == "rating" else c.rating + 0
        bounds: list[tuple[Any, Any, Any]] = [
            (c.started_at, f.started_after, f.started_before),
            (duration, f.duration_min, f.duration_max),
            (rating, f.rating_min, f.rating_max),
        ]
        for column_, low, high in bounds:
            if low is not None:
                out.append(column_ >= low)
            if high is not None:
                out.append(column_ <= high)
        if f.has_feedback_comment is not None:
            has_comment = and_(c.feedback_comment.is_not(None), c.feedback_comment != "")
            out.append(has_comment if f.has_feedback_comment else ~has_comment)
        for key, value in f.metadata:
            out.append(self._metadata_text(key) == value)
        for criteria_id, result in f.evaluations:
            out.append(
                exists().where(
                    EvaluationResult.conversation_id == c.id,
                    self.scope(EvaluationResult),
                    EvaluationResult.criteria_id == criteria_id,
                    EvaluationResult.result == result,
                )
            )
        out.extend(self._data_condition(cond) for cond in f.data_collection)
        if f.tool_names:
            out.append(
                exists().where(
                    ToolUsage.conversation_id == c.id,
                    self.scope(ToolUsage),
                    ToolUsage.tool_name.in_(f.tool_names),
                )
            )
        if f.search:
            out.append(self._search_condition(f.search))
        return out

    def _metadata_text(self, key: str) -> ColumnElement[Any]:
        """A metadata value as text, alike on both engines: PostgreSQL's ``->>`` renders booleans
        as true/false, where SQLite's json_extract gives 1/0."""
        if self.session.bind.dialect.name != "sqlite":
            return cast(Conversation.custom_metadata[key].as_string(), String)
        column_, path = Conversation.custom_metadata, f'$."{key}"'
        kind = func.json_type(column_, path)
        return case((kind.in_(("true", "false")), kind), else_=cast(func.json_extract(column_, path), String))

    def _data_condition(self, cond: DataCondition) -> ColumnElement[bool]:
        d = DataCollectionValue
        base = [
            d.conversation_id == Conversation.id,
            self.scope(DataCollectionValue),
            d.data_collection_id == cond.field_id,
        ]
        if cond.op == "exists":
            return exists().where(*base)
        if cond.op == "missing":
            return ~exists().where(*base)
        if cond.op == "in":
            numbers = [n for n in map(_number, cond.values) if n is not None]
            return exists().where(*base, or_(d.value_text.in_(cond.values), d.value_num.in_(numbers)))
        value = cond.values[0]
        number = _number(value)
        if cond.op in ("eq", "neq"):
            match = d.value_text == value if number is None else or_(d.value_text == value, d.value_num == number)
            return exists().where(*base, match) if cond.op == "eq" else ~exists().where(*base, match)
        assert number is not None  # the service rejects non-numeric comparisons
        num = cast(d.value_num, Float)
        compare = {"gt": num > number, "gte": num >= number, "lt": num < number, "lte": num <= number}
        return exists().where(*base, compare[cond.op])

    def _search_condition(self, query: str) -> ColumnElement[bool]:
        words = _WORD.findall(query)
        if not words:
            return false()
        if self.session.bind.dialect.name == "sqlite":
            match = " ".join('"' + w.replace('"', "") + '"' for w in words)
            matching = (
                select(Turn.conversation_id)
                .join(_TURNS_FTS, _TURNS_FTS.c.rowid == Turn.id)
                .where(text("turns_fts MATCH :fts_query").bindparams(fts_query=match))
            )
        else:
            matching = select(Turn.conversation_id).where(
                text("turns.search_vector @@ plainto_tsquery('english', :fts_query)").bindparams(
                    fts_query=" ".join(words)
                )
            )
        return Conversation.id.in_(self.scoped(matching, Turn))

    async def stored_raw(
        self, provider: str, provider_ids: Sequence[str]
    ) -> dict[str, tuple[str, dict[str, Any] | None, str | None]]:
        """provider id → (conversation id, raw vendor object, audio key) for those already filed."""
        if not provider_ids:
            return {}
        stmt = self.select(
            Conversation.provider_conversation_id, Conversation.id, Conversation.raw, Conversation.audio_key
        ).where(Conversation.provider == provider, Conversation.provider_conversation_id.in_(list(provider_ids)))
        return {row[0]: (row[1], row[2], row[3]) for row in await self.session.execute(stmt)}

    async def audio_keys(self, provider: str, provider_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """provider id → (conversation id, audio key) for those already in the store."""
        out: dict[str, tuple[str, str | None]] = {}
        for start in range(0, len(provider_ids), 500):
            stmt = self.select(Conversation.provider_conversation_id, Conversation.id, Conversation.audio_key).where(
                Conversation.provider == provider,
                Conversation.provider_conversation_id.in_(provider_ids[start : start + 500]),
            )
            out.update({row[0]: (row[1], row[2]) for row in await self.session.execute(stmt)})
        return out

    async def existing_by_provider_ids(
        self, provider: str, provider_ids: Sequence[str]
    ) -> dict[str, tuple[str, str, datetime | None, dict[str, Any]]]:
        """provider id → (id, content_hash, source_updated_at, metadata) for those already stored."""
        out: dict[str, tuple[str, str, datetime | None, dict[str, Any]]] = {}
        for start in range(0, len(provider_ids), 500):
            chunk = provider_ids[start : start + 500]
            stmt = self.select(
                Conversation.provider_conversation_id,
                Conversation.id,
                Conversation.content_hash,
                Conversation.source_updated_at,
                Conversation.custom_metadata,
            ).where(Conversation.provider == provider, Conversation.provider_conversation_id.in_(chunk))
            for row in await self.session.execute(stmt):
                out[row[0]] = (row[1], row[2], row[3], row[4] or {})
        return out

    # ----------------------------------------------------------------- writes

    async def insert_conversations(self, rows: list[dict[str, Any]]) -> None:
        # Core executemany on the table (one driver call), not ORM bulk insert (one call per row).
        await self.insert_rows([{("metadata" if k == "custom_metadata" else k): v for k, v in r.items()}
                                for r in rows])

    async def update_conversations(self, rows: list[dict[str, Any]]) -> None:
        """Rows carry their ``id``; each is updated in place (never across workspaces)."""
        for row in rows:
            values = {k: v for k, v in row.items() if k not in ("id", "workspace_id", "created_at")}
            await self.set_fields(row["id"], **values)

    async def clear_children(self, conversation_ids: Sequence[str]) -> None:
        if not conversation_ids:
            return
        for model in (Turn, EvaluationResult, DataCollectionValue, ToolUsage):
            await self.session.execute(self.delete_where(model.conversation_id.in_(conversation_ids), target=model))

    async def insert_children(
        self,
        turns: list[dict[str, Any]],
        evaluations: list[dict[str, Any]],
        data: list[dict[str, Any]],
        tools: list[dict[str, Any]],
    ) -> None:
        index = bool(turns) and self.session.bind.dialect.name == "sqlite"
        conversation_ids = sorted({row["conversation_id"] for row in turns})
        before = 0
        if index:
            # Only the turns inserted now are indexed (a chat appends turns to ones already indexed): ids only
            # grow, so the new turns of these conversations are the ones above the highest id they hold now.
            highest = self.scoped(select(func.coalesce(func.max(Turn.id), 0)), Turn).where(
                Turn.conversation_id.in_(conversation_ids)
            )
            before = (await self.session.execute(highest)).scalar_one()
        for model, rows in ((Turn, turns), (EvaluationResult, evaluations), (DataCollectionValue, data),
                            (ToolUsage, tools)):
            await self.insert_rows(rows, model)
        if index:
            # The FTS5 index is fed here, for the whole batch at once, rather than by a per-row trigger.
            new_turns = self.scoped(select(Turn.id, Turn.message), Turn).where(
                Turn.id > before, Turn.conversation_id.in_(conversation_ids)
            )
            await self.session.execute(insert(_TURNS_FTS).from_select(["rowid", "message"], new_turns))

    async def index_turns(self, turns: Sequence[tuple[int, str | None]]) -> None:
        """Add (turn id, text) to SQLite's full-text index (PostgreSQL's is a generated column: nothing to do)."""
        rows = [{"rowid": id_, "message": message} for id_, message in turns if message]
        if rows and self.session.bind.dialect.name == "sqlite":
            await self.session.execute(insert(_TURNS_FTS), rows)

    async def set_fields(self, conversation_id: str, **values: Any) -> None:
        await self.session.execute(self.update_where(Conversation.id == conversation_id).values(**values))

    async def set_audio(self, keys: dict[str, str]) -> None:
        """conversation id → blob key of its audio, now stored."""
        for conversation_id, key in keys.items():
            await self.set_fields(conversation_id, audio_key=key, has_audio=True)

    async def transfer_candidates(
        self, customers: Sequence[str], *, agent_numbers: Sequence[str] = (), transfer_numbers: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Stored conversations of these customers that answered on ``agent_numbers`` or were handed to
        ``transfer_numbers``: the other halves of transfers that may involve a batch being ingested."""
        if not customers or not (agent_numbers or transfer_numbers):
            return []
        cols = (Conversation.id, Conversation.customer_number, Conversation.agent_number, Conversation.transfer_to,
                Conversation.started_at, Conversation.ended_at, Conversation.transferred_from_id)
        either = []
        if agent_numbers:
            either.append(Conversation.agent_number.in_(list(agent_numbers)))
        if transfer_numbers:
            either.append(Conversation.transfer_to.in_(list(transfer_numbers)))
        stmt = self.select(*cols).where(Conversation.customer_number.in_(list(customers)), or_(*either))
        keys = ("id", "customer_number", "agent_number", "transfer_to", "started_at", "ended_at",
                "transferred_from_id")
        return [dict(zip(keys, row, strict=True)) for row in await self.session.execute(stmt)]

    async def delete(self, conversation_id: str) -> None:
        await self.clear_children([conversation_id])
        await self.session.execute(self.delete_where(Conversation.id == conversation_id))
