"""Two convhub processes on one Redis (``CONVHUB_REDIS_URL``): events cross them, and resume works on either."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from convhub.config import Settings
from convhub.db import Database
from convhub.live.bus import RedisBus
from convhub.models import Workspace
from tests.conftest import LiveServer
from tests.live.conftest import open_events, publish, workspace_id


async def _workspace_ids(database: Database) -> list[str]:
    async with database.session() as session:
        return list((await session.scalars(select(Workspace.id))).all())


@pytest.fixture
async def servers(settings: Settings, redis_url: str, redis: Redis) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """Two servers on one database and one Redis, as two processes behind a load balancer would be."""
    shared = settings.model_copy(update={"redis_url": redis_url})
    one, two = LiveServer(shared), LiveServer(shared)
    one.start()
    two.start()
    yield one, two
    # Workspace ids are new in every test, so runs never share a stream; still, leave no streams behind.
    bus: RedisBus = one.app.state.events
    keys = [bus._key(ws) for ws in one.call(_workspace_ids(one.app.state.db))]
    one.stop()
    two.stop()
    if keys:
        await redis.delete(*keys)


async def test_an_event_published_by_one_process_reaches_a_client_of_the_other(
        servers: tuple[LiveServer, LiveServer]) -> None:
    one, two = servers
    key, ws = one.key("acme"), workspace_id(one, "acme")
    async with open_events(two.url, key) as stream:
        event = publish(one, ws, "conversation.status", {"status": "done"})
        frame = await stream.next()
    assert (frame.id, frame.event, frame.json()["data"]) == (event.id, "conversation.status", {"status": "done"})


async def test_a_client_resumes_on_the_other_process_with_its_last_event_id(
        servers: tuple[LiveServer, LiveServer]) -> None:
    one, two = servers
    key, ws = one.key("acme"), workspace_id(one, "acme")
    async with open_events(one.url, key, params={"type": "turn.added"}) as stream:
        publish(two, ws, "turn.added", {"n": 0})
        last = (await stream.next()).id
    assert last is not None
    missed = [publish(one, ws, "turn.added", {"n": n}) for n in (1, 2)]
    publish(two, ws, "sync.progress", {"done": 3})
    missed.append(publish(two, ws, "turn.added", {"n": 3}))
    async with open_events(two.url, key, params={"type": "turn.added"}, headers={"Last-Event-ID": last}) as stream:
        assert [f.id for f in await stream.take(3)] == [e.id for e in missed]
        live = publish(one, ws, "turn.added", {"n": 4})
        assert (await stream.next()).id == live.id
        assert await stream.quiet_for(0.3)


async def test_a_workspace_never_sees_another_workspaces_events_across_processes(
        servers: tuple[LiveServer, LiveServer]) -> None:
    one, two = servers
    key, acme, globex = one.key("acme"), workspace_id(one, "acme"), workspace_id(one, "globex")
    async with open_events(two.url, key, headers={"Last-Event-ID": "0-0"}) as stream:
        publish(one, globex, "turn.added", {"secret": "globex"})
        ours = publish(one, acme, "turn.added", {})
        assert (await stream.next()).id == ours.id
        assert await stream.quiet_for(0.3)
