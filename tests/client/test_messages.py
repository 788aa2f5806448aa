"""``client.messages`` and the chat lifecycle of ``client.conversations``: mock transport and live server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from convhub.client import (
    APIError,
    AsyncClient,
    Client,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)
from tests.client.conftest import Recorder, conversation_json


def msg(n: int) -> str:
    """The id of the ``n``-th message (``msg_…``, as the server makes them)."""
    return f"msg_01hv{n:022}"


def message_json(n: int, role: str = "agent", content: str = "Hi there", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": msg(n),
        "index": n - 1,
        "role": role,
        "message": content,
        "content": content,
        "conversation_id": "conv_1",
        "time_in_call_secs": 0.0,
        "tool_calls": [],
        "tool_results": [],
        "feedback": None,
        "rating": None,
        "feedback_comment": None,
        "interrupted": False,
        "source_medium": "chat",
        "llm_usage": None,
        "created_at": "2024-05-01T10:00:00Z",
    }
    body.update(overrides)
    return body


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


SSE = {"content-type": "text/event-stream"}


def test_send_returns_the_reply(make_client: Callable[..., Client]) -> None:
    body = {"conversation_id": "conv_1", "message": message_json(1, "user", "Hello"), "reply": message_json(2)}
    recorder = Recorder(httpx.Response(201, json=body))

    reply = make_client(recorder).messages.send("conv_1", "Hello")

    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("POST", "/v1/conversations/conv_1/messages")
    assert json.loads(request.content) == {"content": "Hello", "role": "user"}
    assert reply is not None and (reply.id, reply.content) == (msg(2), "Hi there")


def test_stream_yields_deltas_then_holds_the_stored_reply(make_client: Callable[..., Client]) -> None:
    body = (
        sse("delta", {"delta": "Hi ", "content": "Hi "})
        + sse("delta", {"delta": "there", "content": "there"})
        + sse("message", message_json(2))
        + sse("done", {"conversation_id": "conv_1", "message_id": msg(1), "reply_id": msg(2), "taken_over": False})
    )
    recorder = Recorder(httpx.Response(200, text=body, headers=SSE))

    with make_client(recorder).messages.stream("conv_1", "Hello") as stream:
        pieces = [delta.content for delta in stream]

    assert pieces == ["Hi ", "there"]
    assert stream.text == "Hi there"
    assert stream.message is not None and stream.message.id == msg(2)
    assert stream.done is not None and (stream.done.message_id, stream.done.reply_id) == (msg(1), msg(2))
    assert recorder.requests[0].url.path == "/v1/conversations/conv_1/messages/stream"
    assert recorder.requests[0].headers["accept"] == "text/event-stream"


def test_a_failing_agent_ends_the_stream_with_an_error(make_client: Callable[..., Client]) -> None:
    body = (
        sse("delta", {"delta": "Hi", "content": "Hi"})
        + sse("message", message_json(2, interrupted=True))
        + sse("error", {"message": "The model endpoint did not answer."})
    )
    stream = make_client(Recorder(httpx.Response(200, text=body, headers=SSE))).messages.stream("conv_1", "Hello")

    assert next(stream).content == "Hi"
    with pytest.raises(APIError, match="did not answer"):
        stream.until_done()
    assert stream.message is not None and stream.message.interrupted


def test_list_and_rate(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(
        httpx.Response(200, json={"data": [message_json(1, "user")], "next_cursor": "c2", "has_more": True}),
        httpx.Response(200, json={"data": [message_json(2)], "next_cursor": None, "has_more": False}),
        httpx.Response(200, json=message_json(2, rating=5, feedback_comment="Clear")),
    )
    client = make_client(recorder)

    messages = list(client.messages.list("conv_1", limit=1))
    # As the chat SDK's documentation calls it.
    rated = client.messages.rate(message_id=messages[1].id, rating=5, feedback="Clear")

    assert [m.id for m in messages] == [msg(1), msg(2)]
    assert recorder.requests[1].url.params.multi_items() == [("limit", "1"), ("cursor", "c2")]
    assert (recorder.requests[2].method, recorder.requests[2].url.path) == ("POST", f"/v1/messages/{msg(2)}/rating")
    assert json.loads(recorder.requests[2].content) == {"rating": 5, "feedback": "Clear"}
    assert (rated.id, rated.rating, rated.feedback_comment) == (msg(2), 5, "Clear")


async def test_async_rate(make_async_client: Callable[..., AsyncClient]) -> None:
    recorder = Recorder(httpx.Response(200, json=message_json(2, rating=4, feedback_comment=None)))

    async with make_async_client(recorder) as client:
        rated = await client.messages.rate(message_id=msg(2), rating=4)

    assert (recorder.requests[0].method, recorder.requests[0].url.path) == ("POST", f"/v1/messages/{msg(2)}/rating")
    assert json.loads(recorder.requests[0].content) == {"rating": 4, "feedback": None}
    assert (rated.id, rated.rating) == (msg(2), 4)


def test_rate_refuses_the_old_call_and_an_empty_id(make_client: Callable[..., Client]) -> None:
    recorder = Recorder()
    client = make_client(recorder)

    with pytest.raises(TypeError):
        client.messages.rate("conv_1", 2, 5)  # type: ignore[misc]  # (conversation, integer id, rating) is gone
    with pytest.raises(ValueError, match="message_id"):
        client.messages.rate(message_id="", rating=5)
    assert recorder.requests == []


def test_conversation_lifecycle_requests(make_client: Callable[..., Client]) -> None:
    chat = conversation_json(
        "conv_1", provider="convhub", channel="chat", last_activity_at=None, taken_over_by=None, taken_over_at=None
    )
    recorder = Recorder(*(httpx.Response(200, json=chat) for _ in range(3)))
    client = make_client(recorder)

    client.conversations.create("agt_1", entity_type="LEAD", metadata={"page": "/pricing"}, title="Pricing")
    client.conversations.end("conv_1", rating=4)
    client.conversations.archive("conv_1")

    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("POST", "/v1/conversations"),
        ("POST", "/v1/conversations/conv_1/end"),
        ("POST", "/v1/conversations/conv_1/archive"),
    ]
    assert json.loads(recorder.requests[0].content) == {
        "agent_id": "agt_1",
        "entity_type": "LEAD",
        "metadata": {"page": "/pricing"},
        "title": "Pricing",
    }
    assert json.loads(recorder.requests[1].content) == {"rating": 4, "feedback": None}


# ---------------------------------------------------------------- live server


@pytest.fixture
def sdk(live_server: Any) -> Iterator[Client]:
    with Client(api_key=live_server.key("acme"), base_url=live_server.url, max_retries=0, timeout=20) as client:
        yield client


@pytest.fixture
def agent_id(sdk: Client) -> str:
    agent = sdk.agents.create("Shop help")
    sdk.agents.add_documents(
        agent.id,
        [
            ("shipping.md", "Parcels ship within two working days by courier."),
            ("returns.md", "Returns are free within thirty days of delivery."),
        ],
    )
    return agent.id


def test_a_whole_chat_on_a_live_server(sdk: Client, agent_id: str) -> None:
    chat = sdk.conversations.create(agent_id, metadata={"source": "widget"}, title="Shipping")
    reply = sdk.messages.send(chat.id, "How long does shipping take?")
    with sdk.messages.stream(chat.id, "Are returns free?") as stream:
        streamed = "".join(delta.content for delta in stream)

    assert reply is not None and reply.role == "agent" and "two working days" in (reply.content or "")
    assert "thirty days" in streamed
    assert stream.message is not None and stream.message.content == streamed
    messages = list(sdk.messages.list(chat.id, limit=3))
    assert [m.role for m in messages] == ["user", "agent", "user", "agent"]
    assert messages[-1].id == stream.message.id

    rated = sdk.messages.rate(message_id=reply.id, rating=5, feedback="Clear")
    assert (rated.id, rated.rating, rated.feedback_comment) == (reply.id, 5, "Clear")
    with pytest.raises(UnprocessableEntityError, match="only the agent's replies"):
        sdk.messages.rate(message_id=messages[0].id, rating=5)
    with pytest.raises(UnprocessableEntityError):
        sdk.messages.rate(message_id=reply.id, rating=6)
    with pytest.raises(NotFoundError, match="not found"):
        sdk.messages.rate(message_id="msg_01hv0000000000000000000000", rating=5)
    updated = sdk.conversations.update(chat.id, metadata={"plan": "pro"})
    assert updated.metadata == {"source": "widget", "plan": "pro"}

    ended = sdk.conversations.end(chat.id, rating=4, feedback="Quick")
    assert (ended.status, ended.rating) == ("done", 4)
    figures = sdk.conversations.analytics(chat.id)
    assert figures.message_statistics.total_messages == 4
    assert figures.message_statistics.by_role == {"agent": 2, "user": 2}
    assert figures.conversation_flow.status == "done" and figures.conversation_flow.turns == 4
    assert figures.conversation_flow.first_response_time_secs is not None
    assert figures.quality_metrics.satisfaction_rating == 4
    assert (figures.quality_metrics.average_message_rating, figures.quality_metrics.rated_messages) == (5.0, 1)
    with pytest.raises(ConflictError):
        sdk.messages.send(chat.id, "One more thing")
    assert sdk.conversations.archive(chat.id).archived


def test_leaving_a_stream_early_keeps_what_was_said(sdk: Client, agent_id: str) -> None:
    chat = sdk.conversations.create(agent_id)
    with sdk.messages.stream(chat.id, "Tell me about shipping and returns") as stream:
        next(stream)

    # The server stores the partial reply once it notices the client left.
    for _ in range(100):
        messages = list(sdk.messages.list(chat.id))
        if len(messages) == 2:
            break
        time.sleep(0.05)
    assert [m.role for m in messages] == ["user", "agent"]


async def test_async_chat_on_a_live_server(live_server: Any) -> None:
    async with AsyncClient(api_key=live_server.key("acme"), base_url=live_server.url, max_retries=0) as sdk:
        agent = await sdk.agents.create("Async help")
        await sdk.agents.add_documents(agent.id, [("hours.md", "The shop opens at nine in the morning.")])
        chat = await sdk.conversations.create(agent.id)
        async with await sdk.messages.stream(chat.id, "When does the shop open?") as stream:
            text = "".join([delta.content async for delta in stream])
        reply = await sdk.messages.send(chat.id, "When does the shop open?")
        listed = [m.role async for m in sdk.messages.list(chat.id)]
        assert stream.message is not None
        rated = await sdk.messages.rate(message_id=stream.message.id, rating=4, feedback="Helpful")
        with pytest.raises(NotFoundError):
            await sdk.messages.rate(message_id="msg_01hv0000000000000000000000", rating=4)
        figures = await sdk.conversations.analytics(chat.id)

    assert "nine" in text and stream.message is not None
    assert reply is not None and "nine" in (reply.content or "")
    assert listed == ["user", "agent", "user", "agent"]
    assert figures.message_statistics.by_role == {"agent": 2, "user": 2}
    assert (rated.id, rated.rating, rated.feedback_comment) == (stream.message.id, 4, "Helpful")
    assert figures.quality_metrics.rated_messages == 1
