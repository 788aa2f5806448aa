"""Sync jobs: thin wrappers that hand a queued run to the engine, and the schedule that queues them."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from convhub.connections.repository import ConnectionLookup
from convhub.db import Database
from convhub.errors import Conflict
from convhub.jobs.runner import JobRunner
from convhub.kit.time import utcnow
from convhub.kit.uow import on_commit
from convhub.sync.engine import SyncEngine, start_run

log = logging.getLogger("convhub.sync")


def submit_run(jobs: JobRunner, engine: SyncEngine, workspace_id: str, run_id: str) -> asyncio.Task[Any]:
    return jobs.submit(f"sync {run_id}", partial(engine.execute, workspace_id, run_id), key=f"sync:{run_id}")


async def queue_due_runs(database: Database, jobs: JobRunner, engine: SyncEngine) -> list[str]:
    """Queue a run for every connection whose schedule says it is time; their run ids."""
    queued = []
    async with database.session() as session:
        for connection in await ConnectionLookup(session).due_for_sync(utcnow()):
            try:
                run = await start_run(session, connection.workspace_id, connection.id, trigger="schedule")
            except Conflict:
                continue  # still running from last time
            queued.append(run.id)
            on_commit(session, partial(submit_run, jobs, engine, connection.workspace_id, run.id))
    return queued


async def schedule_loop(database: Database, jobs: JobRunner, engine: SyncEngine, *, every: float = 5.0) -> None:
    """Check the schedules every ``every`` seconds until cancelled (``convhub serve`` runs one)."""
    while True:
        try:
            await queue_due_runs(database, jobs, engine)
        except Exception:  # a bad tick is logged; the next one tries again
            log.exception("sync schedule tick failed")
        await asyncio.sleep(every)
