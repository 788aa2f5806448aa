"""``/v1/sync``: start runs (answered at once with their ids), follow them, list them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from convhub.auth.dependencies import Session, SyncSubject
from convhub.errors import Conflict, NotFound, error_responses
from convhub.kit.uow import on_commit
from convhub.sync import service
from convhub.sync.schemas import SyncCreate, SyncRunPage, SyncRunRead
from convhub.sync.tasks import submit_run

router = APIRouter(prefix="/v1/sync", tags=["sync"])

FINISHED = frozenset({"succeeded", "failed", "interrupted"})


@router.post("", status_code=202, response_model=SyncRunPage, summary="Start a sync",
             responses=error_responses(NotFound, Conflict))
async def start_sync(body: SyncCreate, request: Request, session: Session, subject: SyncSubject) -> SyncRunPage:
    runs = await service.start_runs(session, subject.workspace_id, body.connection_id, mode=body.mode, trigger="api")
    for run in runs:  # the jobs start once the runs they execute are committed
        on_commit(session, partial(submit_run, request.app.state.jobs, request.app.state.sync_engine,
                                   subject.workspace_id, run.id))
    return SyncRunPage(data=[SyncRunRead.model_validate(r) for r in runs])


@router.get("/runs", response_model=SyncRunPage, summary="Recent sync runs")
async def list_runs(
    session: Session, subject: SyncSubject,
    connection_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SyncRunPage:
    runs = await service.list_runs(session, subject.workspace_id, connection_id, limit)
    return SyncRunPage(data=[SyncRunRead.model_validate(r) for r in runs])


@router.get("/runs/{run_id}", response_model=SyncRunRead, summary="One sync run: status, counts, errors",
            responses=error_responses(NotFound))
async def get_run(run_id: str, session: Session, subject: SyncSubject) -> SyncRunRead:
    return SyncRunRead.model_validate(await service.get_run(session, subject.workspace_id, run_id))


@router.get("/runs/{run_id}/events", summary="Progress of a run as server-sent events",
            responses=error_responses(NotFound), response_class=StreamingResponse)
async def run_events(run_id: str, request: Request, subject: SyncSubject,
                     interval: Annotated[float, Query(ge=0.05, le=10)] = 0.5) -> StreamingResponse:
    """``event: progress`` whenever the run's counts change, then ``event: done`` with its final state."""
    database = request.app.state.db
    async with database.session() as session:
        await service.get_run(session, subject.workspace_id, run_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[bytes]:
        last = b""
        seq = 0
        while True:
            async with database.session() as session:
                run = SyncRunRead.model_validate(await service.get_run(session, subject.workspace_id, run_id))
            data = orjson.dumps(run.model_dump(mode="json"))
            finished = run.status in FINISHED
            if data != last or finished:
                seq += 1
                yield b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, b"done" if finished else b"progress", data)
                last = data
            if finished or await request.is_disconnected():
                return
            await asyncio.sleep(interval)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-cache"})
