"""Every SQL statement on provider connections.

:class:`ConnectionRepository` is bound to a workspace like every tenant
repository. Two lookups run before any workspace is known and so are plain
functions: the scheduler's :func:`due_for_sync` (it serves every workspace) and
:func:`get_unscoped` (a webhook URL names the connection alone; the connection
then fixes the workspace).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.kit.repository import WorkspaceRepository
from convhub.models import ProviderConnection


class ConnectionRepository(WorkspaceRepository[ProviderConnection]):
    model = ProviderConnection

    async def all(self) -> list[ProviderConnection]:
        """The workspace's connections, oldest first."""
        stmt = self.scoped(select(ProviderConnection)).order_by(ProviderConnection.created_at, ProviderConnection.id)
        return list((await self.session.execute(stmt)).scalars())

    async def insert(self, connection: ProviderConnection) -> None:
        if connection.workspace_id != self.workspace_id:
            raise ValueError("a connection is inserted by its own workspace's repository")
        self.session.add(connection)
        await self.session.flush()

    async def save(self, connection: ProviderConnection) -> None:
        """Write the changes made to a connection this repository loaded."""
        if connection.workspace_id != self.workspace_id:
            raise ValueError("a connection is saved by its own workspace's repository")
        await self.session.flush([connection])

    async def delete(self, connection_id: str) -> None:
        await self.session.execute(
            delete(ProviderConnection).where(
                ProviderConnection.id == connection_id, ProviderConnection.workspace_id == self.workspace_id
            )
        )


async def due_for_sync(session: AsyncSession, now: datetime) -> list[ProviderConnection]:
    """Connections of every workspace with a schedule whose next sync time has come, longest waiting first."""
    stmt = (
        select(ProviderConnection)
        .where(
            ProviderConnection.sync_interval_secs.is_not(None),
            ProviderConnection.next_sync_at.is_(None) | (ProviderConnection.next_sync_at <= now),
        )
        .order_by(ProviderConnection.next_sync_at.is_not(None), ProviderConnection.next_sync_at,
                  ProviderConnection.id)
    )
    return list((await session.execute(stmt)).scalars())


async def get_unscoped(session: AsyncSession, connection_id: str) -> ProviderConnection | None:
    """The connection with this id in whichever workspace holds it (the caller must then use that workspace)."""
    stmt = select(ProviderConnection).where(ProviderConnection.id == connection_id)
    return (await session.execute(stmt)).scalar_one_or_none()
