"""The in-process bus: filters, resuming after an event id, tenant isolation, and slow subscribers."""

from __future__ import annotations

import asyncio

import pytest

from convhub.live.bus import LAGGED, Event, InProcessBus, Subscription

CONV_A = "conv_01aaaaaaaaaaaaaaaaaaaaaaaa"
CONV_B = "conv_01bbbbbbbbbbbbbbbbbbbbbbbb"


async def drain(subscription: Subscription, n: int, within: float = 2) -> list[Event]:
    async with asyncio.timeout(within):
        return [await anext(subscription) for _ in range(n)]


async def nothing_more(subscription: Subscription, secs: float = 0.1) -> bool:
    try:
        async with asyncio.timeout(secs):
            await anext(subscription)
    except TimeoutError:
        return True
    return False


async def test_a_subscriber_receives_events_published_after_it_subscribed() -> None:
    bus = InProcessBus()
    await bus.publish("ws_a", "turn.added", {"text": "before"})
    async with bus.subscribe("ws_a") as events:
        published = await bus.publish("ws_a", "turn.added", {"text": "hello"}, conversation_id=CONV_A)
        [received] = await drain(events, 1)
        assert received == published
        assert received.data == {"text": "hello"} and received.conversation_id == CONV_A
        assert await nothing_more(events)  # the event from before it subscribed is not replayed


async def test_filters_by_type_and_conversation() -> None:
    bus = InProcessBus()
    async with bus.subscribe("ws_a", types={"conversation.takeover", "conversation.release"},
                             conversation_id=CONV_A) as events:
        await bus.publish("ws_a", "turn.added", {}, conversation_id=CONV_A)
        await bus.publish("ws_a", "conversation.takeover", {}, conversation_id=CONV_B)
        takeover = await bus.publish("ws_a", "conversation.takeover", {"by": "op"}, conversation_id=CONV_A)
        await bus.publish("ws_a", "sync.progress", {"done": 1})
        release = await bus.publish("ws_a", "conversation.release", {}, conversation_id=CONV_A)
        assert await drain(events, 2) == [takeover, release]
        assert await nothing_more(events)


async def test_resuming_after_an_event_id_gives_exactly_the_events_after_it_then_live_ones() -> None:
    bus = InProcessBus()
    sent = [await bus.publish("ws_a", "turn.added", {"n": n}) for n in range(5)]
    async with bus.subscribe("ws_a", after=sent[1].id) as events:
        later = await bus.publish("ws_a", "turn.added", {"n": 5})
        assert await drain(events, 4) == [*sent[2:], later]
        assert await nothing_more(events)


async def test_resuming_applies_the_filters_to_replayed_events() -> None:
    bus = InProcessBus()
    first = await bus.publish("ws_a", "turn.added", {}, conversation_id=CONV_A)
    await bus.publish("ws_a", "turn.added", {}, conversation_id=CONV_B)
    wanted = await bus.publish("ws_a", "conversation.status", {"status": "done"}, conversation_id=CONV_A)
    async with bus.subscribe("ws_a", after=first.id, conversation_id=CONV_A) as events:
        assert await drain(events, 1) == [wanted]
        assert await nothing_more(events)


async def test_resuming_from_the_last_event_gives_nothing_old() -> None:
    bus = InProcessBus()
    sent = [await bus.publish("ws_a", "turn.added", {"n": n}) for n in range(3)]
    async with bus.subscribe("ws_a", after=sent[-1].id) as events:
        assert await nothing_more(events)


async def test_only_the_last_events_of_a_workspace_are_kept_for_resuming() -> None:
    bus = InProcessBus(buffer_size=3)
    sent = [await bus.publish("ws_a", "turn.added", {"n": n}) for n in range(6)]
    async with bus.subscribe("ws_a", after=sent[0].id) as events:
        assert await drain(events, 3) == sent[3:]


async def test_event_ids_increase_and_sort_by_time() -> None:
    bus = InProcessBus()
    sent = [await bus.publish("ws_a", "turn.added", {}) for _ in range(200)]
    keys = [e.key for e in sent]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(e.id.count("-") == 1 for e in sent)


async def test_a_workspace_never_sees_another_workspaces_events() -> None:
    bus = InProcessBus()
    await bus.publish("ws_b", "turn.added", {"secret": "b"})
    async with bus.subscribe("ws_a") as mine, bus.subscribe("ws_a", after="0-0") as resumed:
        await bus.publish("ws_b", "turn.added", {"secret": "b2"})
        ours = await bus.publish("ws_a", "turn.added", {"text": "a"})
        assert await drain(mine, 1) == [ours]
        assert await drain(resumed, 1) == [ours]  # replay is per workspace too
        assert await nothing_more(mine) and await nothing_more(resumed)


async def test_a_slow_subscriber_does_not_block_publishing_and_ends_with_a_lagged_event() -> None:
    bus = InProcessBus(queue_size=10)
    slow = bus.subscribe("ws_a")  # never read while publishing
    fast = bus.subscribe("ws_a")
    fast_received: list[Event] = []

    async def keep_up() -> None:
        async for event in fast:
            fast_received.append(event)
            if len(fast_received) == 100:
                return

    reader = asyncio.create_task(keep_up())
    async with asyncio.timeout(2):  # publishing never waits on the slow one
        sent = []
        for n in range(100):
            sent.append(await bus.publish("ws_a", "turn.added", {"n": n}))
            await asyncio.sleep(0)
        await reader
    assert fast_received == sent

    # The slow subscriber gets what it had queued, then a final event naming where to resume.
    held = await drain(slow, 10)
    assert held == sent[:10]
    [lagged] = await drain(slow, 1)
    assert lagged.type == LAGGED and lagged.id == sent[9].id
    assert lagged.data["resume_after"] == sent[9].id
    with pytest.raises(StopAsyncIteration):
        await anext(slow)
    assert bus.subscriber_count("ws_a") == 1  # only the fast one is still attached

    async with bus.subscribe("ws_a", after=lagged.id) as resumed:
        assert await drain(resumed, 90) == sent[10:]
    await fast.aclose()


async def test_closing_detaches_the_subscriber_and_wakes_a_waiting_reader() -> None:
    bus = InProcessBus()
    subscription = bus.subscribe("ws_a")
    assert bus.subscriber_count("ws_a") == 1
    waiting = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0.01)
    await subscription.aclose()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, 1)
    assert bus.subscriber_count() == 0


async def test_closing_the_bus_ends_every_subscription() -> None:
    bus = InProcessBus()
    subscriptions = [bus.subscribe(f"ws_{n % 3}") for n in range(9)]
    await bus.close()
    for subscription in subscriptions:
        with pytest.raises(StopAsyncIteration):
            await anext(subscription)
    assert bus.subscriber_count() == 0


async def test_fan_out_to_500_subscribers() -> None:
    bus = InProcessBus()
    subscriptions = [bus.subscribe("ws_a") for _ in range(500)]
    event = await bus.publish("ws_a", "turn.added", {"text": "to everyone"})
    received = await asyncio.gather(*(drain(s, 1) for s in subscriptions))
    assert all(r == [event] for r in received)
    for subscription in subscriptions:
        await subscription.aclose()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"types": {"turn.addd"}}, "unknown event types"),
    ({"after": "yesterday"}, "not an event id"),
])
async def test_bad_subscriptions_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InProcessBus().subscribe("ws_a", **kwargs)  # type: ignore[arg-type]


async def test_publishing_an_unknown_type_or_unserializable_data_fails_in_the_publisher() -> None:
    bus = InProcessBus()
    with pytest.raises(ValueError, match="unknown event type"):
        await bus.publish("ws_a", "turn.addded", {})
    with pytest.raises(TypeError):
        await bus.publish("ws_a", "turn.added", {"when": object()})


async def test_next_nowait_batches_what_is_here_and_never_waits_on_a_duplicate() -> None:
    bus = InProcessBus()
    first = await bus.publish("ws", "turn.added", {"n": 1})
    subscription = bus.subscribe("ws", after="0-0")
    second = await bus.publish("ws", "turn.added", {"n": 2})  # replayed and queued live: one delivery
    assert subscription.next_nowait() is None  # the replay is still to fetch: only anext can
    assert (await anext(subscription)).id == first.id
    assert subscription.next_nowait() == second
    assert subscription.next_nowait() is None  # the live copy of the second is skipped, without waiting
    third = await bus.publish("ws", "turn.added", {"n": 3})
    assert subscription.next_nowait() == third
    await subscription.aclose()
    assert subscription.next_nowait() is None
