"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from convhub import __version__
from convhub.agents.backends.openai import aclose_shared_client
from convhub.chats.replies import settle as settle_replies
from convhub.chats.tasks import inactivity_loop
from convhub.config import Settings
from convhub.connections.service import open_provider
from convhub.db import Database
from convhub.errors import install_error_handlers
from convhub.jobs.runner import JobRunner
from convhub.kit.ids import new_id
from convhub.kit.logs import install_log_redaction
from convhub.kit.pagination import CursorCodec
from convhub.kit.secretbox import SecretBox
from convhub.live.bus import build_bus
from convhub.storage.local import LocalBlobStore
from convhub.sync.engine import SyncEngine
from convhub.sync.tasks import schedule_loop
from convhub.web.docs import install_docs
from convhub.webhooks.intake import ConnectionCache, IntakeWriter
from convhub.webhooks.processor import WebhookProcessor


class RequestIdMiddleware:
    """``x-request-id`` (the caller's, or a new one) and ``server-timing`` on every response.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware
    costs a task group per request, which shows at webhook rates.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None) or new_id("req")
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", rid.encode("latin-1")),
                    (b"server-timing", f"app;dur={elapsed:.1f}".encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    install_log_redaction()  # the access log would print signed realtime URLs whole

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await app.state.events.start()  # before any work that publishes
        # Work a previous process left (webhook events stored but not processed) is picked up now;
        # the schedule queues syncs of connections that have one.
        app.state.webhook_processor.notify()
        schedule = (
            asyncio.create_task(schedule_loop(app.state.db, app.state.jobs, app.state.sync_engine))
            if settings.scheduler else None
        )
        idle_chats = (
            asyncio.create_task(inactivity_loop(app.state.db, app.state, settings.chat_inactivity_minutes))
            if settings.scheduler else None
        )
        yield
        if schedule is not None:
            schedule.cancel()
        if idle_chats is not None:
            idle_chats.cancel()
        await settle_replies(grace=5.0)  # a reply cut off by a last disconnect is still being stored
        await app.state.jobs.shutdown()
        await app.state.events.close()  # after the jobs, which may still publish
        await aclose_shared_client()
        if database is None:
            await app.state.db.dispose()

    app = FastAPI(
        title="convhub",
        version=__version__,
        summary="One store for every conversation your AI agents have.",
        description="Native API under /v1/conversations; the ElevenLabs conversations dialect under /v1/convai.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served by install_docs, from the package rather than a CDN
    )
    app.state.settings = settings
    app.state.db = database or Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    app.state.blobs = LocalBlobStore(settings.blob_dir)
    app.state.cursors = CursorCodec(settings.resolved_secret_key)
    app.state.secretbox = box = SecretBox(settings.resolved_secret_key)
    app.state.jobs = JobRunner()
    app.state.events = build_bus(settings)
    app.state.sync_engine = SyncEngine(
        app.state.db, app.state.blobs, lambda c: open_provider(c, box), publish=app.state.events.publish
    )
    app.state.webhook_processor = WebhookProcessor(
        app.state.db, app.state.blobs, app.state.jobs, enabled=settings.process_webhooks
    )
    app.state.webhook_connections = ConnectionCache(app.state.db, box)
    app.state.webhook_intake = IntakeWriter(app.state.db)
    install_error_handlers(app)
    install_docs(app)

    app.add_middleware(RequestIdMiddleware)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="Readiness: the database (and Redis, when configured) answer",
             response_model=None)
    async def readyz(request: Request) -> dict[str, str] | JSONResponse:
        try:
            async with request.app.state.db.session() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready", reported, not raised
            body = {"detail": {"status": "not_ready", "message": f"database unavailable: {exc.__class__.__name__}"}}
            return JSONResponse(body, status_code=503)
        try:
            await request.app.state.events.check()
        except Exception as exc:
            body = {"detail": {"status": "not_ready", "message": f"event bus unavailable: {exc}"}}
            return JSONResponse(body, status_code=503)
        return {"status": "ready"}

    from convhub.agents.endpoints import router as agents_router
    from convhub.chats.endpoints import messages_router
    from convhub.chats.endpoints import router as chats_router
    from convhub.connections.endpoints import router as connections_router
    from convhub.conversations.endpoints import router as conversations_router
    from convhub.elevenlabs_api.endpoints import router as elevenlabs_router
    from convhub.elevenlabs_api.realtime import quiet_denial_noise
    from convhub.elevenlabs_api.realtime import router as realtime_router
    from convhub.live.endpoints import router as live_router
    from convhub.sync.endpoints import router as sync_router
    from convhub.webhooks.endpoints import router as webhooks_router

    for router in (chats_router, messages_router, webhooks_router, conversations_router, elevenlabs_router,
                   connections_router, sync_router, live_router, agents_router, realtime_router):
        app.include_router(router)
    quiet_denial_noise()
    return app
