"""The repository base: every query of a tenant's data goes through here.

A repository is bound to one workspace when it is made, and :meth:`scoped`
adds the tenant filter to a statement, so no endpoint or service scopes by
hand and none can forget to.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

M = TypeVar("M")


class WorkspaceRepository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def scoped(self, stmt: Select[Any], model: Any = None) -> Select[Any]:
        """``stmt`` restricted to this workspace's rows of ``model`` (default: the repository's)."""
        target: Any = model if model is not None else self.model
        return stmt.where(target.workspace_id == self.workspace_id)

    async def get(self, id_: Any) -> M | None:
        model: Any = self.model
        result = await self.session.execute(self.scoped(select(model).where(model.id == id_)))
        return result.scalar_one_or_none()
