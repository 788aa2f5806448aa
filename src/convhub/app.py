"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from convhub import __version__
from convhub.config import Settings
from convhub.connections.service import open_provider
from convhub.db import Database
from convhub.errors import install_error_handlers
from convhub.jobs.runner import JobRunner
from convhub.kit.ids import new_id
from convhub.kit.pagination import CursorCodec
from convhub.kit.secretbox import SecretBox
from convhub.storage.local import LocalBlobStore
from convhub.sync.engine import SyncEngine
from convhub.sync.tasks import schedule_loop
from convhub.webhooks.processor import WebhookProcessor


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Work a previous process left (webhook events stored but not processed) is picked up now;
        # the schedule queues syncs of connections that have one.
        app.state.webhook_processor.notify()
        schedule = (
            asyncio.create_task(schedule_loop(app.state.db, app.state.jobs, app.state.sync_engine))
            if settings.scheduler else None
        )
        yield
        if schedule is not None:
            schedule.cancel()
        await app.state.jobs.shutdown()
        if database is None:
            await app.state.db.dispose()

    app = FastAPI(
        title="convhub",
        version=__version__,
        summary="One store for every conversation your AI agents have.",
        description="Native API under /v1/conversations; the ElevenLabs conversations dialect under /v1/convai.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database or Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    app.state.blobs = LocalBlobStore(settings.blob_dir)
    app.state.cursors = CursorCodec(settings.resolved_secret_key)
    app.state.secretbox = box = SecretBox(settings.resolved_secret_key)
    app.state.jobs = JobRunner()
    app.state.sync_engine = SyncEngine(app.state.db, app.state.blobs, lambda c: open_provider(c, box))
    app.state.webhook_processor = WebhookProcessor(app.state.db, app.state.blobs, app.state.jobs)
    install_error_handlers(app)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id") or new_id("req")
        request.state.request_id = rid
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["x-request-id"] = rid
        response.headers["server-timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="Readiness: the database answers", response_model=None)
    async def readyz(request: Request) -> dict[str, str] | JSONResponse:
        try:
            async with request.app.state.db.session() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready", reported, not raised
            body = {"detail": {"status": "not_ready", "message": f"database unavailable: {exc.__class__.__name__}"}}
            return JSONResponse(body, status_code=503)
        return {"status": "ready"}

    from convhub.connections.endpoints import router as connections_router
    from convhub.conversations.endpoints import router as conversations_router
    from convhub.elevenlabs_api.endpoints import router as elevenlabs_router
    from convhub.sync.endpoints import router as sync_router
    from convhub.webhooks.endpoints import router as webhooks_router

    app.include_router(conversations_router)
    app.include_router(elevenlabs_router)
    app.include_router(connections_router)
    app.include_router(sync_router)
    app.include_router(webhooks_router)
    return app
