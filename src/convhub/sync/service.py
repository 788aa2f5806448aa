"""Starting sync runs and reading them back; the engine does the pulling."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from convhub.connections.repository import ConnectionRepository
from convhub.errors import Conflict, NotFound
from convhub.models import SyncRun
from convhub.sync.engine import start_run
from convhub.sync.repository import SyncRepository


async def start_runs(
    session: AsyncSession, workspace_id: str, connection_id: str | None, *, mode: str, trigger: str
) -> list[SyncRun]:
    """Queue a run for one connection, or for each of the workspace's (skipping those already running)."""
    if connection_id is not None:
        return [await start_run(session, workspace_id, connection_id, mode=mode, trigger=trigger)]
    runs = []
    ids = await ConnectionRepository(session, workspace_id).ids()
    if not ids:
        raise NotFound("This workspace has no provider connections; add one with POST /v1/providers.")
    for cid in ids:
        try:
            runs.append(await start_run(session, workspace_id, cid, mode=mode, trigger=trigger))
        except Conflict:
            continue
    if not runs:
        raise Conflict("Every connection of this workspace is already syncing.")
    return runs


async def get_run(session: AsyncSession, workspace_id: str, run_id: str) -> SyncRun:
    run = await SyncRepository(session, workspace_id).get(run_id)
    if run is None:
        raise NotFound(f"Sync run {run_id!r} not found.")
    return run


async def list_runs(
    session: AsyncSession, workspace_id: str, connection_id: str | None = None, limit: int = 50
) -> list[SyncRun]:
    return await SyncRepository(session, workspace_id).runs(connection_id, limit)
