"""SQL for workspaces and API keys.

Key lookup by secret hash runs before a workspace is known (it is how the
workspace becomes known), so it is a :class:`WorkspaceLookup`, across
workspaces; a workspace's own keys are listed through :class:`ApiKeyRepository`.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select

from convhub.kit.repository import CrossWorkspaceRepository, WorkspaceRepository
from convhub.models import ApiKey, Workspace


class KeyCheck(NamedTuple):
    """What authenticating with a key needs to know of it: read as columns, not as an entity, since every
    request asks."""

    id: str
    workspace_id: str
    scopes: list[str]
    revoked_at: datetime | None
    last_used_at: datetime | None


class WorkspaceLookup(CrossWorkspaceRepository[ApiKey]):
    """Workspaces by name, and keys before their workspace is known."""

    model = ApiKey

    async def by_name(self, name: str) -> Workspace | None:
        result = await self.session.execute(select(Workspace).where(Workspace.name == name))
        return result.scalar_one_or_none()

    async def add(self, workspace: Workspace) -> None:
        self.session.add(workspace)
        await self.session.flush()

    async def key_by_hash(self, secret_hash: str) -> KeyCheck | None:
        stmt = self.select(ApiKey.id, ApiKey.workspace_id, ApiKey.scopes, ApiKey.revoked_at, ApiKey.last_used_at)
        row = (await self.session.execute(stmt.where(ApiKey.secret_hash == secret_hash))).one_or_none()
        return None if row is None else KeyCheck(*row)

    async def touch_key(self, key_id: str, when: datetime) -> None:
        await self.session.execute(self.update_where(ApiKey.id == key_id).values(last_used_at=when))


class ApiKeyRepository(WorkspaceRepository[ApiKey]):
    model = ApiKey

    async def all(self) -> list[ApiKey]:
        return await self.get_all(self.select().order_by(ApiKey.created_at))
