"""Streamed replies: deltas that add up to the stored reply, a clear error when the agent fails, and what a
client that hangs up mid-reply leaves behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from convhub.agents.backends.base import ChatMessage
from convhub.auth.service import ensure_workspace
from convhub.chats import replies
from convhub.chats.replies import NOT_STORED, UNEXPECTED
from convhub.client._sse import aiter_sse
from convhub.models import Conversation
from tests.chats.helpers import (
    CONVERSATIONS,
    ScriptedBackend,
    make_agent,
    messages,
    send,
    start_chat,
    stream,
    use_backend,
)
from tests.conftest import LiveServer


async def test_the_deltas_add_up_to_the_stored_reply(authed: httpx.AsyncClient, chat: dict[str, Any]) -> None:
    events = await stream(authed, chat["id"], "How long do refunds take?")

    kinds = [e.event for e in events]
    assert kinds[-2:] == ["message", "done"] and set(kinds[:-2]) == {"delta"} and len(kinds) > 5
    deltas = [e.json() for e in events[:-2]]
    assert all(d["delta"] == d["content"] for d in deltas)
    reply, done = events[-2].json(), events[-1].json()
    assert "".join(d["delta"] for d in deltas) == reply["content"]
    assert "five working days" in reply["content"]
    stored = await messages(authed, chat["id"])
    assert [(m["role"], m["index"]) for m in stored] == [("user", 0), ("agent", 1)]
    assert stored[1] == reply and reply["interrupted"] is False
    assert done == {"conversation_id": chat["id"], "message_id": stored[0]["id"], "reply_id": reply["id"],
                    "taken_over": False}
    assert (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).json()["message_count"] == 2


async def test_a_streamed_reply_can_be_rated_by_the_id_it_came_with(
    authed: httpx.AsyncClient, chat: dict[str, Any]
) -> None:
    events = await stream(authed, chat["id"], "How long do refunds take?")
    reply_id = events[-1].json()["reply_id"]

    rated = await authed.post(f"/v1/messages/{reply_id}/rating", json={"rating": 5})
    again = await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages/{reply_id}/rating", json={"rating": 4})

    assert reply_id.startswith("msg_") and reply_id == events[-2].json()["id"]
    assert rated.status_code == 200 and rated.json()["rating"] == 5
    assert again.status_code == 200 and again.json()["rating"] == 4


async def test_an_agent_failing_mid_reply_gives_an_error_event_and_keeps_what_it_said(
    authed: httpx.AsyncClient, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_backend(monkeypatch, ScriptedBackend(fail_after=3))

    events = await stream(authed, chat["id"], "Where is my parcel?")

    assert [e.event for e in events] == ["delta", "delta", "delta", "message", "error"]
    partial = events[3].json()
    assert (partial["content"], partial["interrupted"]) == ("The parcel is", True)
    assert events[4].json() == {"message": "The model server is down."}
    stored = await messages(authed, chat["id"])
    assert [(m["role"], m["content"], m["interrupted"]) for m in stored] == [
        ("user", "Where is my parcel?", False), ("agent", "The parcel is", True)]
    # The conversation goes on: the next message is answered and lands after the partial reply.
    use_backend(monkeypatch, ScriptedBackend())
    result = await send(authed, chat["id"], "Hello?")
    assert (result["message"]["index"], result["reply"]["index"]) == (2, 3)


async def test_an_agent_failing_before_a_word_leaves_only_the_users_message(
    authed: httpx.AsyncClient, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_backend(monkeypatch, ScriptedBackend(fail_after=0))

    events = await stream(authed, chat["id"], "Where is my parcel?")

    assert [(e.event, e.json()) for e in events] == [("error", {"message": "The model server is down."})]
    assert [m["role"] for m in await messages(authed, chat["id"])] == ["user"]
    conversation = (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).json()
    assert (conversation["message_count"], conversation["status"]) == (1, "in-progress")


async def test_a_backend_crash_is_reported_without_its_internals(
    authed: httpx.AsyncClient, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crashing(ScriptedBackend):
        async def stream_reply(self, messages: Any) -> Any:
            yield "Let me"
            raise RuntimeError("KeyError: 'choices' at line 42")

    use_backend(monkeypatch, Crashing())

    events = await stream(authed, chat["id"], "Where is my parcel?")

    assert [e.event for e in events] == ["delta", "message", "error"]
    assert events[-1].json() == {"message": UNEXPECTED} and "line 42" not in events[-1].data
    assert events[1].json()["interrupted"] is True


async def _reply_when_stored(client: httpx.AsyncClient, conversation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        stored = (await client.get(f"{CONVERSATIONS}/{conversation_id}/messages")).json()["data"]
        if len(stored) == 2:
            reply: dict[str, Any] = stored[1]
            return reply
        await asyncio.sleep(0.05)
    raise AssertionError("the partial reply was never stored")


async def test_a_client_that_hangs_up_mid_reply_leaves_the_partial_reply_stored_as_interrupted(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ScriptedBackend(words=[f" word{n}" for n in range(300)], delay=0.02)
    use_backend(monkeypatch, backend)
    async with httpx.AsyncClient(base_url=live_server.url, headers={"xi-api-key": live_server.key()},
                                 timeout=10) as client:
        chat = await start_chat(client, await make_agent(client))
        received: list[str] = []
        async with client.stream("POST", f"{CONVERSATIONS}/{chat['id']}/messages/stream",
                                 json={"content": "Tell me a long story"}) as response:
            async for event in aiter_sse(response.aiter_lines()):
                assert event.event == "delta"
                received.append(event.json()["delta"])
                if len(received) == 3:
                    break  # leaving the block closes the connection mid-reply

        reply = await _reply_when_stored(client, chat["id"])

    assert reply["role"] == "agent" and reply["interrupted"] is True
    assert reply["content"].startswith("".join(received))
    assert len(reply["content"]) < len(backend.text)
    assert backend.closed and backend.produced < 300  # the agent stopped talking to nobody


async def test_a_stream_to_a_taken_over_chat_is_just_done(authed: httpx.AsyncClient, chat: dict[str, Any]) -> None:
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/takeover")

    events = await stream(authed, chat["id"], "Is anyone there?")

    [done] = events
    stored = await messages(authed, chat["id"])
    assert done.event == "done"
    assert done.json() == {"conversation_id": chat["id"], "message_id": stored[-1]["id"], "reply_id": None,
                           "taken_over": True}
    assert [m["role"] for m in stored] == ["system", "user"]


async def test_the_model_starts_before_the_message_is_stored_but_no_reply_outlives_a_failed_store(
    monkeypatch: pytest.MonkeyPatch, app: Any, authed: httpx.AsyncClient, chat: dict[str, Any]
) -> None:
    backend = ScriptedBackend(delay=0.05)
    use_backend(monkeypatch, backend)
    started: list[int] = []

    async def failing_append(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.02)
        started.append(len(backend.seen))  # the backend was asked before the store was tried
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("convhub.chats.service.append_turns", failing_append)
    async with app.state.db.session() as session:
        workspace_id = (await ensure_workspace(session, "default")).id
    with pytest.raises(RuntimeError):
        async with app.state.db.session() as session:
            await replies.begin_reply(session, app.state, workspace_id, chat["id"], "user", "Where is my parcel?")
    await replies.settle(5)
    assert started == [1]
    assert backend.closed and backend.produced < len(backend.words)
    assert await messages(authed, chat["id"]) == []  # neither the message nor any reply


class HeldBackend(ScriptedBackend):
    """Says nothing until the test lets it (``go``): time to change the conversation under a reply."""

    def __init__(self) -> None:
        super().__init__()
        self.go = asyncio.Event()

    async def stream_reply(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        await self.go.wait()
        async for word in super().stream_reply(messages):
            yield word


async def _begin_reply(app: Any, conversation_id: str) -> replies.ReplyProducer:
    async with app.state.db.session() as session:
        workspace_id = (await ensure_workspace(session, "default")).id
    async with app.state.db.session() as session:
        _, producer = await replies.begin_reply(session, app.state, workspace_id, conversation_id, "user",
                                                "Where is my parcel?")
    assert producer is not None
    return producer


async def _clock(app: Any, conversation_id: str) -> tuple[datetime | None, int]:
    """The conversation's last activity and duration, as stored (the API does not show the first)."""
    async with app.state.db.session() as session:
        row = (await session.execute(
            select(Conversation.last_activity_at, Conversation.duration_secs).where(Conversation.id == conversation_id)
        )).one()
    return row[0], row[1]


async def test_a_streamed_reply_moves_an_open_chats_clock(
    app: Any, authed: httpx.AsyncClient, chat: dict[str, Any]
) -> None:
    await stream(authed, chat["id"], "How long do refunds take?")

    reply = (await messages(authed, chat["id"]))[-1]
    replied_at = datetime.fromisoformat(reply["created_at"])
    started_at = datetime.fromisoformat(chat["started_at"])
    assert await _clock(app, chat["id"]) == (replied_at, int((replied_at - started_at).total_seconds()))


async def test_a_reply_stored_after_the_chat_ended_does_not_reopen_its_clock(
    monkeypatch: pytest.MonkeyPatch, app: Any, authed: httpx.AsyncClient, chat: dict[str, Any]
) -> None:
    backend = HeldBackend()
    use_backend(monkeypatch, backend)
    producer = await _begin_reply(app, chat["id"])
    assert (await authed.post(f"{CONVERSATIONS}/{chat['id']}/end")).status_code == 200
    ended = await _clock(app, chat["id"])

    backend.go.set()
    await producer.wait()

    stored = await messages(authed, chat["id"])
    assert [(m["role"], m["content"]) for m in stored] == [("user", "Where is my parcel?"), ("agent", backend.text)]
    conversation = (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).json()
    assert (conversation["status"], conversation["message_count"]) == ("done", 2)
    # As the end left them: last active at the user's message (not the later reply), as long as until the end.
    assert ended[0] is not None and ended[0] < datetime.fromisoformat(stored[1]["created_at"])
    assert await _clock(app, chat["id"]) == ended


async def test_a_reply_to_a_chat_deleted_meanwhile_is_not_stored(
    monkeypatch: pytest.MonkeyPatch, app: Any, authed: httpx.AsyncClient, agent_id: str, chat: dict[str, Any]
) -> None:
    backend = HeldBackend()
    use_backend(monkeypatch, backend)
    producer = await _begin_reply(app, chat["id"])
    assert (await authed.delete(f"{CONVERSATIONS}/{chat['id']}")).status_code == 204

    backend.go.set()
    items = [item async for item in producer.items()]

    assert items[-1] == replies.Failed(NOT_STORED)
    assert "".join(i.text for i in items if isinstance(i, replies.Delta)) == backend.text
    assert (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).status_code == 404
    # Nothing is left behind: the next chat is answered as usual.
    use_backend(monkeypatch, ScriptedBackend())
    other = await start_chat(authed, agent_id)
    result = await send(authed, other["id"], "Hello?")
    assert (result["message"]["index"], result["reply"]["index"]) == (0, 1)


async def test_a_reply_handed_over_in_one_piece_reaches_the_listener_first_word_first_then_the_rest_at_once(
    monkeypatch: pytest.MonkeyPatch, app: Any, chat: dict[str, Any]
) -> None:
    backend = HeldBackend()  # its words come without a pause, as a model's buffered reply does
    use_backend(monkeypatch, backend)
    producer = await _begin_reply(app, chat["id"])
    backend.go.set()

    batches = [batch async for batch in producer.batches()]

    deltas = [[item.text for item in batch if isinstance(item, replies.Delta)] for batch in batches]
    assert deltas[:2] == [list(backend.words[:1]), list(backend.words[1:])]
    assert isinstance(batches[-1][-1], replies.Stored) and batches[-1][-1].message.content == backend.text
