"""The Redis bus against the real Redis: events cross processes, resume anywhere, survive a reconnect.

Two :class:`RedisBus` instances on one event loop stand for two convhub
processes: they share nothing but the Redis server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from convhub.config import Settings
from convhub.kit.time import utcnow
from convhub.live.bus import Event, InProcessBus, RedisBus, build_bus
from tests.live.test_bus import drain, nothing_more

CONV_A = "conv_01aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
def client_name() -> str:
    return f"convhub-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def pair(redis_url: str, redis_prefix: str, client_name: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    """Two buses, as two processes would have; the second one's connections carry ``client_name``."""
    one = RedisBus(redis_url, prefix=redis_prefix)
    two = RedisBus(redis_url, prefix=redis_prefix, client_name=client_name)
    await one.start()
    await two.start()
    yield one, two
    await one.close()
    await two.close()


async def connections_named(redis: Redis, name: str) -> list[dict[str, str]]:
    return [c for c in await redis.client_list() if c.get("name") == name]


async def test_an_event_published_in_one_process_reaches_subscribers_of_another(
        pair: tuple[RedisBus, RedisBus]) -> None:
    one, two = pair
    async with two.subscribe("ws_a") as events:
        published = await one.publish("ws_a", "turn.added", {"text": "hi"}, conversation_id=CONV_A)
        [received] = await drain(events, 1)
    assert received.id == published.id
    assert (received.type, received.data, received.conversation_id) == ("turn.added", {"text": "hi"}, CONV_A)
    assert received.at == published.at and received.workspace_id == "ws_a"


async def test_resuming_in_another_process_replays_exactly_the_missed_events(
        pair: tuple[RedisBus, RedisBus]) -> None:
    one, two = pair
    sent = [await one.publish("ws_a", "turn.added", {"n": n}) for n in range(5)]
    async with two.subscribe("ws_a", after=sent[1].id, types={"turn.added"}) as events:
        later = await one.publish("ws_a", "turn.added", {"n": 5})
        assert [e.id for e in await drain(events, 4)] == [e.id for e in [*sent[2:], later]]
        assert await nothing_more(events, 0.2)


async def test_concurrent_publishers_in_two_processes_are_seen_in_one_order_without_duplicates(
        pair: tuple[RedisBus, RedisBus]) -> None:
    one, two = pair
    async with one.subscribe("ws_a") as on_one, two.subscribe("ws_a") as on_two:
        await asyncio.gather(*(bus.publish("ws_a", "turn.added", {"from": i, "n": n})
                               for n in range(50) for i, bus in enumerate(pair)))
        seen_one, seen_two = await drain(on_one, 100), await drain(on_two, 100)
        assert [e.id for e in seen_one] == [e.id for e in seen_two]
        assert [e.key for e in seen_one] == sorted(e.key for e in seen_one)
        assert {(e.data["from"], e.data["n"]) for e in seen_one} == {(i, n) for i in range(2) for n in range(50)}
        assert await nothing_more(on_two, 0.2)


async def test_a_workspace_never_sees_another_workspaces_events(pair: tuple[RedisBus, RedisBus]) -> None:
    one, two = pair
    async with two.subscribe("ws_a") as mine, two.subscribe("ws_a", after="0-0") as resumed:
        await one.publish("ws_b", "turn.added", {"secret": "b"})
        ours = await one.publish("ws_a", "turn.added", {})
        assert [e.id for e in await drain(mine, 1)] == [ours.id]
        assert [e.id for e in await drain(resumed, 1)] == [ours.id]
        assert await nothing_more(mine, 0.2) and await nothing_more(resumed)


async def test_events_published_while_the_subscription_connection_was_down_are_delivered_after_reconnecting(
        pair: tuple[RedisBus, RedisBus], redis: Redis, client_name: str) -> None:
    one, two = pair
    async with two.subscribe("ws_a") as events:
        first = await one.publish("ws_a", "turn.added", {"n": 0})
        assert [e.id for e in await drain(events, 1)] == [first.id]

        # What a deaf channel misses: events that reach the stream while nothing hears them.
        missed = []
        for n in (1, 2):
            body = RedisBus._encode("ws_a", "turn.added", {"n": n}, None, utcnow())
            missed.append(await redis.xadd(one._key("ws_a"), {"e": body}))
        [pubsub] = [c for c in await connections_named(redis, client_name) if c.get("psub") == "1"]
        await redis.client_kill_filter(_id=pubsub["id"])

        received = await drain(events, 2)
        assert [e.id for e in received] == missed
        assert [e.data["n"] for e in received] == [1, 2]
        after = await one.publish("ws_a", "turn.added", {"n": 3})
        assert [e.id for e in await drain(events, 1)] == [after.id]
        assert await nothing_more(events, 0.2)


async def test_fan_out_to_500_subscribers_uses_no_connection_per_subscriber(
        pair: tuple[RedisBus, RedisBus], redis: Redis, client_name: str) -> None:
    one, two = pair
    subscriptions = [two.subscribe("ws_a") for _ in range(500)]
    event = await one.publish("ws_a", "turn.added", {"text": "to everyone"})
    received = await asyncio.gather(*(drain(s, 1) for s in subscriptions))
    assert all([e.id for e in r] == [event.id] for r in received)
    assert len(await connections_named(redis, client_name)) <= 2  # the subscription's, and one for commands
    for subscription in subscriptions:
        await subscription.aclose()
    assert two.subscriber_count() == 0


async def test_a_slow_subscriber_does_not_block_publishing(redis_url: str, redis_prefix: str) -> None:
    one = RedisBus(redis_url, prefix=redis_prefix, queue_size=5)
    await one.start()
    try:
        slow = one.subscribe("ws_a")
        async with asyncio.timeout(5):
            sent = [await one.publish("ws_a", "turn.added", {"n": n}) for n in range(20)]
        held: list[Event] = []
        async with asyncio.timeout(5):
            async for event in slow:
                held.append(event)
        assert [e.id for e in held[:-1]] == [e.id for e in sent[:5]]
        assert held[-1].type == "stream.lagged" and held[-1].id == sent[4].id
    finally:
        await one.close()


async def test_the_bus_follows_the_settings(redis_url: str, tmp_path: object) -> None:
    assert isinstance(build_bus(Settings(secret_key="s")), InProcessBus)
    bus = build_bus(Settings(secret_key="s", redis_url=redis_url))
    assert isinstance(bus, RedisBus)
    await bus.close()


async def test_start_fails_clearly_when_redis_does_not_answer() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0")
    with pytest.raises(RuntimeError, match="does not answer"):
        await bus.start()
    await bus.close()
