"""Shared fixtures: a fresh database per test on SQLite and PostgreSQL, the app, a live server.

Every database-backed test runs twice, once per backend. PostgreSQL tests use a
database of their own created for the run; when PostgreSQL does not answer they
are skipped, unless ``CONVHUB_REQUIRE_POSTGRES=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from convhub.agents.backends.openai import aclose_shared_client
from convhub.app import create_app
from convhub.auth.scopes import parse_scopes
from convhub.auth.service import create_key, ensure_workspace
from convhub.config import Settings
from convhub.conversations.ingest import ingest_many
from convhub.conversations.schemas import ConversationIn
from convhub.db import Database
from convhub.migrate import upgrade
from tests.agents.fake_openai import FakeOpenAI, FakeOpenAIServer
from tests.tenant_scope import TenantGuard

PG_ADMIN_URL = os.environ.get("CONVHUB_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = [b.strip() for b in os.environ.get("CONVHUB_TEST_BACKENDS", "sqlite,postgres").split(",") if b.strip()]
TABLES = ["audit_log", "tool_usages", "data_collection_values", "evaluation_results", "turns", "conversations",
          "agents", "api_keys", "workspaces"]


# Every statement convhub runs through a session, in every test and on every database (the test's own, a live
# server's, the CLI's), must be scoped to a workspace or marked as across workspaces: tests/tenant_scope.py.
TENANT_GUARD = TenantGuard()
event.listen(Session, "do_orm_execute", TENANT_GUARD.check)


@pytest.fixture(autouse=True)
def tenant_guard() -> Iterator[TenantGuard]:
    """Fails the test when convhub's code ran a statement on a tenant table without the workspace filter (the
    statement also raised where it ran, but code under test may have caught that)."""
    TENANT_GUARD.violations.clear()
    yield TENANT_GUARD
    found, TENANT_GUARD.violations[:] = list(TENANT_GUARD.violations), []
    if found:
        pytest.fail("statements without the workspace filter:\n" + "\n".join(found))


def _pg_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not _pg_answers():
        if os.environ.get("CONVHUB_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL does not answer on 127.0.0.1:5432 and CONVHUB_REQUIRE_POSTGRES=1")
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    name = f"convhub_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "convhub.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database for this test."""
    if request.param == "sqlite":
        target = tmp_path / "convhub.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("pg_url")

    async def truncate() -> None:
        database = Database(url)
        async with database.session() as session:
            await session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        await database.dispose()

    asyncio.run(truncate())
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, secret_key="test-secret")


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings.resolved_database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def app(settings: Settings, database: Database) -> Any:
    return create_app(settings, database=database)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://convhub.test") as c:
        yield c


async def make_key(database: Database, workspace: str = "default", scopes: str = "all") -> str:
    async with database.session() as session:
        ws = await ensure_workspace(session, workspace)
        _, secret = await create_key(session, ws, scopes=parse_scopes(scopes))
    return secret


async def ingest_into(database: Database, workspace: str, conversations: list[ConversationIn]) -> list[str]:
    async with database.session() as session:
        ws = await ensure_workspace(session, workspace)
        results = await ingest_many(session, ws.id, conversations)
    return [r.conversation_id for r in results]


@pytest.fixture
async def api_key(database: Database) -> str:
    return await make_key(database)


@pytest.fixture
async def authed(client: httpx.AsyncClient, api_key: str) -> httpx.AsyncClient:
    client.headers["xi-api-key"] = api_key
    return client


class LiveServer:
    """convhub served by uvicorn on a loopback port, in a thread with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop (where its database engine lives)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def key(self, workspace: str = "default", scopes: str = "all") -> str:
        return str(self.call(make_key(self.app.state.db, workspace, scopes)))

    def ingest(self, workspace: str, conversations: list[ConversationIn]) -> list[str]:
        return list(self.call(ingest_into(self.app.state.db, workspace, conversations)))


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


# The loopback fake of an OpenAI-compatible server, for the `openai` agent backend (agents and chats tests).
@pytest.fixture(scope="session")
def openai_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def fake_openai(openai_server: FakeOpenAIServer) -> AsyncIterator[FakeOpenAI]:
    """The fake, reset to streaming its default reply; the pooled client of this test's loop is closed after."""
    openai_server.fake.reset()
    yield openai_server.fake
    await aclose_shared_client()
