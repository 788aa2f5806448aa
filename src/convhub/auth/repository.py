"""SQL for workspaces and API keys.

Key lookup by secret hash is the one query that runs before a workspace is
known (it is how the workspace becomes known), so it lives here, unscoped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.kit.repository import WorkspaceRepository
from convhub.models import ApiKey, Workspace


class WorkspaceLookup:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_name(self, name: str) -> Workspace | None:
        result = await self.session.execute(select(Workspace).where(Workspace.name == name))
        return result.scalar_one_or_none()

    async def add(self, workspace: Workspace) -> None:
        self.session.add(workspace)
        await self.session.flush()

    async def key_by_hash(self, secret_hash: str) -> ApiKey | None:
        result = await self.session.execute(select(ApiKey).where(ApiKey.secret_hash == secret_hash))
        return result.scalar_one_or_none()

    async def touch_key(self, key_id: str, when: datetime) -> None:
        await self.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))


class ApiKeyRepository(WorkspaceRepository[ApiKey]):
    model = ApiKey

    async def all(self) -> list[ApiKey]:
        result = await self.session.execute(self.scoped(select(ApiKey).order_by(ApiKey.created_at)))
        return list(result.scalars())

    async def add(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()
