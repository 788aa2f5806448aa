"""Live-event fixtures: the real Redis, SSE connections read with deadlines, publishing on a live server.

Redis-backed tests need Redis on 127.0.0.1:6379 (``CONVHUB_TEST_REDIS_URL`` to
point elsewhere). When it does not answer they are skipped, unless
``CONVHUB_REQUIRE_POSTGRES=1`` (CI, which starts Redis too) makes that a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from convhub.auth.service import ensure_workspace
from convhub.client._sse import ServerSentEvent, aiter_sse
from convhub.db import Database
from convhub.live.bus import Event
from tests.conftest import LiveServer

REDIS_URL = os.environ.get("CONVHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _redis_answers():
        if os.environ.get("CONVHUB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"Redis does not answer at {REDIS_URL} and CONVHUB_REQUIRE_POSTGRES=1")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis: Redis) -> AsyncIterator[str]:
    """A key and channel prefix of this test's own, deleted afterwards, so runs never see each other."""
    prefix = f"convhub-test-{uuid.uuid4().hex[:12]}:events"
    yield prefix
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        await redis.delete(key)


async def eventually(check: Callable[[], bool], within: float = 5) -> bool:
    """Whether ``check()`` holds within ``within`` seconds, asked every 50 ms."""
    for _ in range(int(within / 0.05)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


def workspace_id(server: LiveServer, name: str) -> str:
    async def lookup(database: Database) -> str:
        async with database.session() as session:
            return (await ensure_workspace(session, name)).id

    return str(server.call(lookup(server.app.state.db)))


def publish(server: LiveServer, workspace: str, type: str, data: dict[str, Any] | None = None, *,
            conversation_id: str | None = None) -> Event:
    """Publish on ``server``'s bus, from its own event loop, as its endpoints and jobs do."""
    bus = server.app.state.events
    event: Event = server.call(bus.publish(workspace, type, data or {}, conversation_id=conversation_id))
    return event


class EventStream:
    """An open ``GET /v1/events``; a background reader queues the events so reads can have deadlines."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._events: asyncio.Queue[ServerSentEvent | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for event in aiter_sse(self.response.aiter_lines()):
                await self._events.put(event)
        finally:
            await self._events.put(None)  # the server ended the stream

    async def next(self, within: float = 5) -> ServerSentEvent:
        async with asyncio.timeout(within):
            event = await self._events.get()
        assert event is not None, "the stream ended"
        return event

    async def take(self, n: int, within: float = 5) -> list[ServerSentEvent]:
        return [await self.next(within) for _ in range(n)]

    async def quiet_for(self, secs: float) -> bool:
        """True when no event arrives for ``secs``."""
        try:
            async with asyncio.timeout(secs):
                await self._events.get()
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def open_events(base_url: str, key: str, *, params: Any = None,
                      headers: dict[str, str] | None = None) -> AsyncIterator[EventStream]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client, client.stream(
        "GET", "/v1/events", params=params, headers={"xi-api-key": key, **(headers or {})}
    ) as response:
        assert response.status_code == 200, response.status_code
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        try:
            yield stream
        finally:
            await stream.close()
