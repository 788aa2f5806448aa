"""The sync schedule: a connection with an interval is synced when its time comes, and not before."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from convhub.auth.service import ensure_workspace
from convhub.db import Database
from convhub.jobs.runner import JobRunner
from convhub.kit.time import utcnow
from convhub.models import ProviderConnection, SyncRun
from convhub.storage.local import LocalBlobStore
from convhub.sync.engine import SyncEngine
from convhub.sync.tasks import queue_due_runs
from tests.sync.fakes import FakeAccount, FakeProvider, add_connection


async def test_due_connections_are_synced_and_rescheduled(database: Database, tmp_path: Path) -> None:
    async with database.session() as session:
        workspace_id = (await ensure_workspace(session, "acme")).id
    scheduled = await add_connection(database, workspace_id, sync_interval_secs=600)
    await add_connection(database, workspace_id)  # no schedule: never queued by it
    account = FakeAccount(12)
    engine = SyncEngine(database, LocalBlobStore(tmp_path), lambda _c: FakeProvider(account))
    jobs = JobRunner()

    queued = await queue_due_runs(database, jobs, engine)
    assert len(queued) == 1
    await jobs.drain()

    async with database.session() as session:
        run = await session.get(SyncRun, queued[0])
        connection = await session.get(ProviderConnection, scheduled)
    assert run is not None and run.status == "succeeded" and run.trigger == "schedule"
    assert run.connection_id == scheduled and run.counts["created"] == 12
    assert connection is not None and connection.next_sync_at is not None
    assert connection.next_sync_at - utcnow() > timedelta(seconds=590)

    assert await queue_due_runs(database, jobs, engine) == []  # not due again yet
    async with database.session() as session:
        runs = (await session.execute(select(SyncRun.id))).scalars().all()
    assert runs == queued
