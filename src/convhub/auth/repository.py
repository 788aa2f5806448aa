"""SQL for workspaces and API keys.

Key lookup by secret hash is the one query that runs before a workspace is
known (it is how the workspace becomes known), so it lives here, unscoped.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.kit.repository import WorkspaceRepository, core_table
from convhub.models import ApiKey, Workspace

_keys = core_table(ApiKey)
# Every request runs these two: built once (kit/repository.py says why).
_KEY_BY_HASH = (
    select(_keys.c.id, _keys.c.workspace_id, _keys.c.scopes, _keys.c.revoked_at, _keys.c.last_used_at)
    .where(_keys.c.secret_hash == bindparam("p_hash"))
)
_TOUCH_KEY = update(_keys).where(_keys.c.id == bindparam("p_id")).values(last_used_at=bindparam("p_when"))


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
        row = (await self.session.execute(_KEY_BY_HASH, {"p_hash": secret_hash})).one_or_none()
        return None if row is None else KeyCheck(*row)

    async def touch_key(self, key_id: str, when: datetime) -> None:
        await self.session.execute(_TOUCH_KEY, {"p_id": key_id, "p_when": when})


class ApiKeyRepository(WorkspaceRepository[ApiKey]):
    model = ApiKey

    async def all(self) -> list[ApiKey]:
        result = await self.session.execute(self.scoped(select(ApiKey).order_by(ApiKey.created_at)))
        return list(result.scalars())

    async def add(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()
