"""The repository base: the one place a tenant's rows are scoped.

A repository of a tenant table is a :class:`WorkspaceRepository`, bound to one
workspace when it is made. Its statements start from :meth:`~WorkspaceRepository.select`,
:meth:`~WorkspaceRepository.update_where` and :meth:`~WorkspaceRepository.delete_where`,
which carry the filter on the workspace; a statement that reaches another tenant
table (a join, an EXISTS, a subquery) adds :meth:`~WorkspaceRepository.scope` of
that model, and rows are written with :meth:`~WorkspaceRepository.add` and
:meth:`~WorkspaceRepository.insert_rows`, which refuse another workspace's rows.
So no other module writes the tenant filter, and none can forget it.

A few statements must not be scoped: the ones that find the workspace (an API
key by its secret's hash), and the jobs that serve every workspace (the
scheduler's due connections, the webhook processor's pending events, idle
chats). They live in a :class:`CrossWorkspaceRepository` (a ``…Lookup`` beside
the domain's own repository), and every statement it builds is marked by :func:`unscoped`: the
test suite fails any statement on a tenant table that has no workspace filter
and no such mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Delete,
    Executable,
    Select,
    Table,
    Update,
    delete,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

M = TypeVar("M")
E = TypeVar("E", bound=Executable)

# The execution option that marks a statement as deliberately across workspaces (see :func:`unscoped`).
UNSCOPED = "convhub_unscoped"


def unscoped(statement: E) -> E:
    """``statement``, marked as reading or writing tenant rows without one workspace's filter, on purpose.

    Only :class:`CrossWorkspaceRepository` calls it; the tests' statement check lets exactly these through.
    """
    return statement.execution_options(**{UNSCOPED: True})


def core_table(model: type[Any]) -> Table:
    """The Core table of a model: executemany on it is one driver call, unlike ORM bulk insert, and a
    statement on it skips the ORM's work per execution."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _workspace_column(target: Any) -> Any:
    return target.c.workspace_id if isinstance(target, Table) else target.workspace_id


class Repository(Generic[M]):
    """What every repository needs, scoped or not: run a statement for one row, all rows or a keyset page."""

    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_one_or_none(self, statement: Select[Any]) -> Any:
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_all(self, statement: Select[Any]) -> list[Any]:
        return list((await self.session.execute(statement)).scalars())

    async def paginate(
        self,
        statement: Select[Any],
        *,
        keys: Sequence[ColumnElement[Any]],
        after: Sequence[Any] | None,
        descending: bool = False,
        limit: int,
    ) -> list[Any]:
        """Up to ``limit`` rows of ``statement`` in ``keys`` order, strictly after the position ``after`` (the
        keys' values of the previous page's last row). Keyset, not offset: rows inserted meanwhile never make
        a page skip or repeat one. The last key must be unique (an id)."""
        if after is not None:
            if len(keys) == 1:
                position: Any = keys[0]
                bound: Any = literal(after[0], type_=keys[0].type)
            else:
                position = tuple_(*keys)
                bound = tuple_(*(literal(v, type_=k.type) for k, v in zip(keys, after, strict=True)))
            statement = statement.where(position < bound if descending else position > bound)
        order = [k.desc() if descending else k.asc() for k in keys]
        return await self.get_all(statement.order_by(*order).limit(limit))


class WorkspaceRepository(Repository[M]):
    """A repository bound to one workspace: every statement it builds sees that workspace's rows only."""

    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        super().__init__(session)
        self.workspace_id = workspace_id

    def scope(self, target: Any = None) -> ColumnElement[bool]:
        """The tenant filter of ``target`` (a model or a Core table; default: the repository's model): for
        the WHERE of a statement, or the ON of a join to another tenant table."""
        condition: ColumnElement[bool] = _workspace_column(self.model if target is None else target) == (
            self.workspace_id
        )
        return condition

    def scoped(self, statement: Select[Any], target: Any = None) -> Select[Any]:
        """``statement`` restricted to this workspace's rows of ``target`` (default: the repository's model)."""
        return statement.where(self.scope(target))

    def select(self, *entities: Any) -> Select[Any]:
        """The base statement: ``entities`` (default: the model) of this workspace's rows of the model."""
        return select(*(entities or (self.model,))).where(self.scope())

    def update_where(self, *conditions: ColumnElement[bool], target: Any = None) -> Update:
        """An UPDATE of this workspace's rows of ``target`` (default: the model) that meet ``conditions``."""
        table = self.model if target is None else target
        return update(table).where(self.scope(table), *conditions)

    def delete_where(self, *conditions: ColumnElement[bool], target: Any = None) -> Delete:
        """A DELETE of this workspace's rows of ``target`` (default: the model) that meet ``conditions``."""
        table = self.model if target is None else target
        return delete(table).where(self.scope(table), *conditions)

    async def get(self, id_: Any) -> M | None:
        model: Any = self.model
        row: M | None = await self.get_one_or_none(self.select().where(model.id == id_))
        return row

    def _check(self, rows: Iterable[Any]) -> None:
        for row in rows:
            owner = row.get("workspace_id") if isinstance(row, Mapping) else row.workspace_id
            if owner != self.workspace_id:
                raise ValueError(f"a row of workspace {owner!r} written through workspace {self.workspace_id!r}")

    async def add(self, *objects: Any) -> None:
        """Add new objects of this workspace and flush them (their ids and defaults are then set)."""
        self._check(objects)
        self.session.add_all(objects)
        await self.session.flush(list(objects))

    async def save(self, *objects: Any) -> None:
        """Write the changes made to objects this repository loaded."""
        self._check(objects)
        await self.session.flush(list(objects))

    async def insert_rows(self, rows: Sequence[Mapping[str, Any]], target: Any = None) -> None:
        """Insert rows of this workspace into ``target`` (default: the model) as one executemany on its table."""
        if rows:
            self._check(rows)
            table = core_table(self.model if target is None else target)
            await self.session.execute(insert(table), list(rows))


class CrossWorkspaceRepository(Repository[M]):
    """Statements that see every workspace, each marked :func:`unscoped`: finding the workspace a request
    belongs to, and jobs that serve all workspaces. Every use must say why in its docstring."""

    def select(self, *entities: Any) -> Select[Any]:
        return unscoped(select(*(entities or (self.model,))))

    def update_where(self, *conditions: ColumnElement[bool], target: Any = None) -> Update:
        return unscoped(update(self.model if target is None else target).where(*conditions))
