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
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    table,
    text,
    tuple_,
    union_all,
    update,
)

from convhub.kit.repository import WorkspaceRepository, core_table
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
# SQLite's full-text index of turns (built once: it runs with every chat message).
_INDEX_TURN = text("INSERT INTO turns_fts(rowid, message) VALUES (:id, :message)")


def matching_ref(ref: Any, workspace_id: Any, provider: str | None = None) -> ColumnElement[bool]:
    """The conversation of this workspace that ``ref`` names: its convhub id, or the provider's original id
    (only ``provider``'s, when given). ``ref`` and ``workspace_id`` are values or bound parameters.

    Written as the ids that two index searches find rather than ``(id = ref OR provider's id = ref) AND
    workspace``: given that, SQLite (with no statistics gathered) walks the whole workspace through an index
    on ``workspace_id`` instead, 40 ms a lookup in a workspace of 100,000 conversations. Both branches are
    scoped to the workspace; the ids they find are that workspace's only.
    """
    c = core_table(Conversation).c
    by_provider = and_(c.workspace_id == workspace_id, c.provider_conversation_id == ref)
    if provider is not None:
        by_provider = and_(by_provider, c.provider == provider)
    ids = union_all(select(c.id).where(c.id == ref, c.workspace_id == workspace_id), select(c.id).where(by_provider))
    return Conversation.id.in_(ids)


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

    # ------------------------------------------------------------------ reads

    async def get_by_ref(self, ref: str, *, provider: str | None = None) -> Conversation | None:
        """By convhub id, or by the provider's original id (optionally only that provider's)."""
        stmt = select(Conversation).where(matching_ref(ref, self.workspace_id, provider)).limit(1)
        result = await self.session.execute(stmt)
        return result.scalar_one_or_none()

    async def turns(self, conversation_id: str) -> list[Turn]:
        stmt = self.scoped(
            select(Turn).where(Turn.conversation_id == conversation_id).order_by(Turn.idx), Turn
        )
        return list((await self.session.execute(stmt)).scalars())

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
        return {t.conversation_id: t for t in (await self.session.execute(stmt)).scalars()}

    async def agent_names(self, agent_ids: Iterable[str]) -> dict[str, str]:
        ids = set(agent_ids)
        if not ids:
            return {}
        stmt = self.scoped(select(Agent.id, Agent.name).where(Agent.id.in_(ids)), Agent)
        return {row.id: row.name for row in await self.session.execute(stmt)}

    async def agents(self, agent_ids: Iterable[str]) -> dict[str, Agent]:
        """id → agent, for those of ``agent_ids`` in this workspace."""
        ids = set(agent_ids)
        if not ids:
            return {}
        stmt = self.scoped(select(Agent).where(Agent.id.in_(ids)), Agent)
        return {agent.id: agent for agent in (await self.session.execute(stmt)).scalars()}

    async def resolve_agent_refs(self, refs: Sequence[str]) -> list[str]:
        """convhub agent ids for refs that are convhub ids or providers' agent ids."""
        stmt = self.scoped(
            select(Agent.id).where(or_(Agent.id.in_(refs), Agent.provider_agent_id.in_(refs))), Agent
        )
        return list((await self.session.execute(stmt)).scalars())

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
        key = self._sort_expr(sort)
        stmt = self.scoped(select(Conversation)).where(*self._conditions(filters, sort))
        if after is not None:
            position = tuple_(key, Conversation.id)
            bound = tuple_(literal(after[0], type_=key.type), literal(after[1], type_=Conversation.id.type))
            stmt = stmt.where(position < bound if descending else position > bound)
        order = (key.desc(), Conversation.id.desc()) if descending else (key.asc(), Conversation.id.asc())
        stmt = stmt.order_by(*order).limit(limit)
        return list((await self.session.execute(stmt)).scalars())

    def sort_value(self, row: Conversation, sort: SortField) -> Any:
        if sort == "duration":
            return row.duration_secs
        if sort == "rating":
            return row.rating or 0
        return row.started_at

    async def active(self, limit: int = 200) -> list[Conversation]:
        stmt = (
            self.scoped(select(Conversation))
            .where(Conversation.status.in_(("initiated", "in-progress")))
            .order_by(Conversation.started_at.desc(), Conversation.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

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
        for column, low, high in bounds:
            if low is not None:
                out.append(column >= low)
            if high is not None:
                out.append(column <= high)
        if f.has_feedback_comment is not None:
            has_comment = and_(c.feedback_comment.is_not(None), c.feedback_comment != "")
            out.append(has_comment if f.has_feedback_comment else ~has_comment)
        for key, value in f.metadata:
            out.append(self._metadata_text(key) == value)
        for criteria_id, result in f.evaluations:
            out.append(
                exists().where(
                    EvaluationResult.conversation_id == c.id,
                    EvaluationResult.workspace_id == self.workspace_id,
                    EvaluationResult.criteria_id == criteria_id,
                    EvaluationResult.result == result,
                )
            )
        out.extend(self._data_condition(cond) for cond in f.data_collection)
        if f.tool_names:
            out.append(
                exists().where(
                    ToolUsage.conversation_id == c.id,
                    ToolUsage.workspace_id == self.workspace_id,
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
        column, path = Conversation.custom_metadata, f'$."{key}"'
        kind = func.json_type(column, path)
        return case((kind.in_(("true", "false")), kind), else_=cast(func.json_extract(column, path), String))

    def _data_condition(self, cond: DataCondition) -> ColumnElement[bool]:
        d = DataCollectionValue
        base = [
            d.conversation_id == Conversation.id,
            d.workspace_id == self.workspace_id,
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
        column = cast(d.value_num, Float)
        compare = {"gt": column > number, "gte": column >= number, "lt": column < number, "lte": column <= number}
        return exists().where(*base, compare[cond.op])

    def _search_condition(self, query: str) -> ColumnElement[bool]:
        words = _WORD.findall(query)
        if not words:
            return false()
        if self.session.bind.dialect.name == "sqlite":
            match = " ".join('"' + w.replace('"', "") + '"' for w in words)
            matching = (
                select(Turn.conversation_id)
                .join(table("turns_fts"), text("turns_fts.rowid = turns.id"))
                .where(text("turns_fts MATCH :fts_query").bindparams(fts_query=match))
                .where(Turn.workspace_id == self.workspace_id)
            )
        else:
            matching = (
                select(Turn.conversation_id)
                .where(text("turns.search_vector @@ plainto_tsquery('english', :fts_query)").bindparams(
                    fts_query=" ".join(words)
                ))
                .where(Turn.workspace_id == self.workspace_id)
            )
        return Conversation.id.in_(matching)

    # ----------------------------------------------------------------- writes

    async def existing_by_provider_ids(
        self, provider: str, provider_ids: Sequence[str]
    ) -> dict[str, tuple[str, str, datetime | None, dict[str, Any]]]:
        """provider id → (id, content_hash, source_updated_at, metadata) for those already stored."""
        out: dict[str, tuple[str, str, datetime | None, dict[str, Any]]] = {}
        for start in range(0, len(provider_ids), 500):
            chunk = provider_ids[start : start + 500]
            stmt = self.scoped(
                select(
                    Conversation.provider_conversation_id,
                    Conversation.id,
                    Conversation.content_hash,
                    Conversation.source_updated_at,
                    Conversation.custom_metadata,
                ).where(Conversation.provider == provider, Conversation.provider_conversation_id.in_(chunk))
            )
            for row in await self.session.execute(stmt):
                out[row[0]] = (row[1], row[2], row[3], row[4] or {})
        return out

    async def insert_conversations(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            # Core executemany on the table (one driver call), not ORM bulk insert (one call per row).
            column_rows = [{("metadata" if k == "custom_metadata" else k): v for k, v in r.items()} for r in rows]
            await self.session.execute(insert(core_table(Conversation)), column_rows)

    async def update_conversations(self, rows: list[dict[str, Any]]) -> None:
        """Rows carry their ``id``; each is updated in place (never across workspaces)."""
        for row in rows:
            values = {k: v for k, v in row.items() if k not in ("id", "workspace_id", "created_at")}
            await self.set_fields(row["id"], **values)

    async def clear_children(self, conversation_ids: Sequence[str]) -> None:
        if not conversation_ids:
            return
        for model in (Turn, EvaluationResult, DataCollectionValue, ToolUsage):
            await self.session.execute(
                delete(model).where(
                    model.conversation_id.in_(conversation_ids), model.workspace_id == self.workspace_id
                )
            )

    async def insert_children(
        self,
        turns: list[dict[str, Any]],
        evaluations: list[dict[str, Any]],
        data: list[dict[str, Any]],
        tools: list[dict[str, Any]],
    ) -> None:
        sqlite = self.session.bind.dialect.name == "sqlite"
        if turns and sqlite:
            # Only the rows inserted now are indexed (a chat appends turns to ones already indexed).
            before = (await self.session.execute(select(func.coalesce(func.max(Turn.id), 0)))).scalar_one()
        for model, rows in ((Turn, turns), (EvaluationResult, evaluations), (DataCollectionValue, data),
                            (ToolUsage, tools)):
            if rows:
                await self.session.execute(insert(core_table(model)), rows)
        if turns and sqlite:
            # The FTS5 index is fed here, for the whole batch at once, rather than by a per-row trigger.
            conversation_ids = sorted({row["conversation_id"] for row in turns})
            await self.session.execute(
                text("INSERT INTO turns_fts(rowid, message) SELECT id, message FROM turns"
                     " WHERE id > :before AND workspace_id = :ws AND conversation_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"before": before, "ws": self.workspace_id, "ids": conversation_ids},
            )

    async def index_turns(self, turns: Sequence[tuple[int, str | None]]) -> None:
        """Add (turn id, text) to SQLite's full-text index (PostgreSQL's is a generated column: nothing to do)."""
        rows = [{"id": id_, "message": message} for id_, message in turns if message]
        if rows and self.session.bind.dialect.name == "sqlite":
            await self.session.execute(_INDEX_TURN, rows)

    async def set_fields(self, conversation_id: str, **values: Any) -> None:
        await self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.workspace_id == self.workspace_id)
            .values(**values)
        )

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
        stmt = self.scoped(select(*cols)).where(Conversation.customer_number.in_(list(customers)), or_(*either))
        keys = ("id", "customer_number", "agent_number", "transfer_to", "started_at", "ended_at",
                "transferred_from_id")
        return [dict(zip(keys, row, strict=True)) for row in await self.session.execute(stmt)]

    async def delete(self, conversation_id: str) -> None:
        await self.clear_children([conversation_id])
        await self.session.execute(
            delete(Conversation).where(
                Conversation.id == conversation_id, Conversation.workspace_id == self.workspace_id
            )
        )


class AgentRepository(WorkspaceRepository[Agent]):
    model = Agent

    async def by_provider_ids(self, provider: str, provider_agent_ids: Sequence[str]) -> dict[str, Agent]:
        stmt = self.scoped(
            select(Agent).where(Agent.provider == provider, Agent.provider_agent_id.in_(provider_agent_ids))
        )
        return {a.provider_agent_id or "": a for a in (await self.session.execute(stmt)).scalars()}

    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        stmt = self.scoped(select(Agent.id).where(Agent.id.in_(ids)))
        return set((await self.session.execute(stmt)).scalars())

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(core_table(Agent)), rows)
