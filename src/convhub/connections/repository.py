"""Every SQL statement on provider connections.

:class:`ConnectionRepository` is bound to a workspace like every tenant
repository. Two lookups run before any workspace is known, so they are a
:class:`ConnectionLookup`, across workspaces: the scheduler's
:meth:`~ConnectionLookup.due_for_sync` (it serves every workspace) and
:meth:`~ConnectionLookup.get` (a webhook URL names the connection alone; the
connection then fixes the workspace).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from convhub.kit.repository import CrossWorkspaceRepository, WorkspaceRepository
from convhub.models import ProviderConnection


class ConnectionRepository(WorkspaceRepository[ProviderConnection]):
    model = ProviderConnection

    async def all(self) -> list[ProviderConnection]:
        """The workspace's connections, oldest first."""
        return await self.get_all(self.select().order_by(ProviderConnection.created_at, ProviderConnection.id))

    async def ids(self) -> list[str]:
        """The workspace's connection ids, oldest first."""
        stmt = self.select(ProviderConnection.id).order_by(ProviderConnection.created_at)
        return list((await self.session.execute(stmt)).scalars())

    async def insert(self, connection: ProviderConnection) -> None:
        await self.add(connection)

    async def set_fields(self, connection_id: str, **values: Any) -> None:
        await self.session.execute(self.update_where(ProviderConnection.id == connection_id).values(**values))

    async def delete(self, connection_id: str) -> None:
        await self.session.execute(self.delete_where(ProviderConnection.id == connection_id))


class ConnectionLookup(CrossWorkspaceRepository[ProviderConnection]):
    model = ProviderConnection

    async def due_for_sync(self, now: datetime) -> list[ProviderConnection]:
        """Connections of every workspace with a schedule whose next sync time has come, longest waiting
        first: the scheduler serves all workspaces."""
        stmt = (
            self.select()
            .where(
                ProviderConnection.sync_interval_secs.is_not(None),
                ProviderConnection.next_sync_at.is_(None) | (ProviderConnection.next_sync_at <= now),
            )
            .order_by(ProviderConnection.next_sync_at.is_not(None), ProviderConnection.next_sync_at,
                      ProviderConnection.id)
        )
        return await self.get_all(stmt)

    async def get(self, connection_id: str) -> ProviderConnection | None:
        """The connection with this id in whichever workspace holds it: a webhook URL names the connection
        alone (the caller then works in that connection's workspace)."""
        found: ProviderConnection | None = await self.get_one_or_none(
            self.select().where(ProviderConnection.id == connection_id)
        )
        return found
