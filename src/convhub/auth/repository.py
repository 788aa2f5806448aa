"""SQL for workspaces and API keys.

Key lookup by secret hash is the one query that runs before a workspace is
known (it is how the workspace becomes known), so it lives here, unscoped.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.kit.repository import WorkspaceRepository
from convhub.models import ApiKey, Workspace


class KeyCheck(NamedTuple):
    """What authenticating with a key needs to know of it: read as columns, not as an entity, since every
    request asks."""

    id: str
    workspace_id: str
    scopes: list[str]
    revoked_at: datetime | None
    last_used_at: datetime | None


class WorkspaceLookup:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_name(self, name: str) -> Workspace | None:
        result = await self.session.execute(select(Workspace).where(Workspace.name == name))
        return result.scalar_one_or_none()

    async def add(self, workspace: Workspace) -> None:
        self.session.add(workspace)
        await self.session.flush()

    async def key_by_hash(self, secret_hash: str) -> KeyCheck | None:
        result = await self.session.execute(
            select(ApiKey.id, ApiKey.workspace_id, ApiKey.scopes, ApiKey.revoked_at, ApiKey.last_used_at)
            .where(ApiKey.secret_hash == secret_hash)
        )
        row = result.one_or_none()
        return None if row is None else KeyCheck(*row)

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
