"""The repository base: every query of a tenant's data goes through here.

A repository is bound to one workspace when it is made, and :meth:`scoped`
adds the tenant filter to a statement, so no endpoint or service scopes by
hand and none can forget to.

The statements every chat message runs are built once, at import, instead of on
each call: building a statement and computing its cache key cost more CPU than
SQLite takes to run it. Such a statement is scoped by :func:`bound_to_workspace`
(a ``workspace_id`` compared with a bound parameter), and
:meth:`WorkspaceRepository.run` binds that parameter to the repository's
workspace on every execution, so these are scoped in the same one place.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Executable, Result, Select, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

M = TypeVar("M")

# The bound parameter a prebuilt statement is scoped by; :meth:`WorkspaceRepository.run` always sets it.
WORKSPACE_PARAM = "scope_workspace_id"


def core_table(model: type[Any]) -> Table:
    """The Core table of a model: executemany on it is one driver call, unlike ORM bulk insert, and a
    statement on it skips the ORM's work per execution."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def bound_to_workspace(workspace_id_column: Any) -> ColumnElement[bool]:
    """The tenant filter of a statement built once and run with :meth:`WorkspaceRepository.run`."""
    condition: ColumnElement[bool] = workspace_id_column == bindparam(WORKSPACE_PARAM)
    return condition


class WorkspaceRepository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def scoped(self, stmt: Select[Any], model: Any = None) -> Select[Any]:
        """``stmt`` restricted to this workspace's rows of ``model`` (default: the repository's)."""
        target: Any = model if model is not None else self.model
        return stmt.where(target.workspace_id == self.workspace_id)

    async def run(self, stmt: Executable, params: dict[str, Any]) -> Result[Any]:
        """Execute a prebuilt statement (scoped with :func:`bound_to_workspace`) in this workspace."""
        return await self.session.execute(stmt, {**params, WORKSPACE_PARAM: self.workspace_id})

    async def get(self, id_: Any) -> M | None:
        model: Any = self.model
        result = await self.session.execute(self.scoped(select(model).where(model.id == id_)))
        return result.scalar_one_or_none()
