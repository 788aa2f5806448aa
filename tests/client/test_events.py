"""``client.events``: SSE parsing against a mock transport, and real events from a live server's bus."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from convhub.client import APIConnectionError, AsyncClient, Client, Event
from tests.client.conftest import Recorder
from tests.live.conftest import publish, workspace_id


def frame(id: str, type: str, data: dict[str, Any], conversation_id: str | None = None) -> str:
    payload = {"id": id, "type": type, "conversation_id": conversation_id, "at": "2024-05-01T10:00:00Z", "data": data}
    return f"id: {id}\nevent: {type}\ndata: {json.dumps(payload)}\n\n"


SSE = {"content-type": "text/event-stream"}
BODY = (
    frame("1-0", "turn.added", {"role": "user"}, "conv_1")
    + ": keep-alive\n\n"
    + frame("2-0", "conversation.status", {"status": "done"}, "conv_1")
)


def test_stream_yields_typed_events_and_skips_comments(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, text=BODY, headers=SSE))
    with make_client(recorder).events.stream(
        conversation_id="conv_1", types=["turn.added", "conversation.status"], last_event_id="0-5"
    ) as stream:
        events = list(stream)

    assert [(e.id, e.type, e.conversation_id) for e in events] == [
        ("1-0", "turn.added", "conv_1"),
        ("2-0", "conversation.status", "conv_1"),
    ]
    assert events[1].data == {"status": "done"}
    assert stream.last_event_id == "2-0"
    request = recorder.requests[0]
    assert request.headers["accept"] == "text/event-stream"
    assert request.url.params.multi_items() == [
        ("conversation_id", "conv_1"),
        ("last_event_id", "0-5"),
        ("type", "turn.added"),
        ("type", "conversation.status"),
    ]


def test_opening_the_stream_is_retried(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(503), httpx.Response(200, text=BODY, headers=SSE))
    with make_client(recorder).events.stream(types="turn.added") as stream:
        assert next(stream).id == "1-0"
    assert len(recorder.requests) == 2


def test_a_broken_stream_raises_a_connection_error(make_client: Callable[..., Client]) -> None:
    class Breaks(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield frame("1-0", "turn.added", {}).encode()
            raise httpx.ReadError("connection reset")

    client = make_client(lambda request: httpx.Response(200, stream=Breaks(), headers=SSE))
    with client.events.stream() as stream:
        assert next(stream).id == "1-0"
        with pytest.raises(APIConnectionError):
            next(stream)
    assert stream.last_event_id == "1-0"


async def test_async_stream(make_async_client: Callable[..., AsyncClient]) -> None:
    client = make_async_client(Recorder(httpx.Response(200, text=BODY, headers=SSE)))
    async with await client.events.stream() as stream:
        events = [event async for event in stream]
    assert [e.type for e in events] == ["turn.added", "conversation.status"]


# ---------------------------------------------------------------- live server


def test_events_published_on_the_server_arrive_in_order(live_server: Any) -> None:
    key, ws = live_server.key("acme"), workspace_id(live_server, "acme")
    conversation = "conv_" + "a" * 26
    received: list[Event] = []
    subscribed = threading.Event()

    def publish_when_subscribed() -> None:
        subscribed.wait(5)
        publish(live_server, ws, "sync.progress", {"ignored": True})  # filtered out by type
        publish(live_server, ws, "turn.added", {"n": 1}, conversation_id=conversation)
        publish(live_server, ws, "turn.added", {"n": 2}, conversation_id=conversation)

    with Client(api_key=key, base_url=live_server.url, max_retries=0, timeout=10) as sdk:
        with sdk.events.stream(types=["turn.added"]) as stream:
            # The server subscribes before it sends the headers, so once the stream is open nothing is missed.
            subscribed.set()
            publisher = threading.Thread(target=publish_when_subscribed)
            publisher.start()
            for event in stream:
                received.append(event)
                if len(received) == 2:
                    break
            publisher.join()
        first = received[0]

        # Resuming after the first event replays the second.
        with sdk.events.stream(types="turn.added", last_event_id=first.id) as resumed:
            replayed = next(resumed)

    assert [(e.type, e.conversation_id, e.data) for e in received] == [
        ("turn.added", conversation, {"n": 1}),
        ("turn.added", conversation, {"n": 2}),
    ]
    assert replayed.id == received[1].id


async def test_async_events_from_a_live_server(live_server: Any) -> None:
    key, ws = live_server.key("acme"), workspace_id(live_server, "acme")
    sdk = AsyncClient(api_key=key, base_url=live_server.url, max_retries=0, timeout=10)
    async with sdk, await sdk.events.stream() as stream:
        # publish() blocks on the server's loop, not ours: run it in a thread.
        threading.Thread(target=publish, args=(live_server, ws, "conversation.status", {"status": "done"})).start()
        event = await anext(stream)
    assert (event.type, event.data) == ("conversation.status", {"status": "done"})
