"""What a live monitor sees of a chat: every turn as it is stored, status changes, takeover and release."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from convhub.auth.service import ensure_workspace
from convhub.chats import replies
from convhub.db import Database
from tests.chats.helpers import (
    CONVERSATIONS,
    ScriptedBackend,
    drain,
    make_agent,
    messages,
    send,
    start_chat,
    stream,
    use_backend,
)


async def _workspace_id(database: Database) -> str:
    async with database.session() as session:
        return (await ensure_workspace(session, "default")).id


async def test_a_monitor_sees_the_whole_chat_as_it_happens(
    authed: httpx.AsyncClient, app: Any, database: Database, agent_id: str
) -> None:
    subscription = app.state.events.subscribe(await _workspace_id(database))

    chat = await start_chat(authed, agent_id)
    exchange = await send(authed, chat["id"], "How long do refunds take?")
    streamed = await stream(authed, chat["id"], "And to Germany?")
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/takeover")
    operator = await send(authed, chat["id"], "Priya here, let me help.", role="human_operator")
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/release")
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/end", json={"rating": 5})
    events = await drain(subscription)
    await subscription.aclose()

    assert {e.conversation_id for e in events} == {chat["id"]}
    assert [(e.type, e.data.get("role") or e.data.get("status")) for e in events] == [
        ("conversation.status", "in-progress"),
        ("turn.added", "user"), ("turn.added", "agent"),
        ("turn.added", "user"), ("turn.added", "agent"),
        ("conversation.takeover", None), ("turn.added", "system"),
        ("turn.added", "human_operator"),
        ("conversation.release", None), ("turn.added", "system"),
        ("conversation.status", "done"),
    ]
    turns = [e.data for e in events if e.type == "turn.added"]
    assert turns[0] == exchange["message"] and turns[1] == exchange["reply"]
    assert turns[3] == streamed[-2].json()
    assert turns[5] == operator["message"] and turns[5]["conversation_id"] == chat["id"]
    takeover = next(e for e in events if e.type == "conversation.takeover")
    assert takeover.data["operator"] is not None and takeover.data["taken_over_at"]
    assert events[-1].data == {"status": "done", "termination_reason": "ended"}


async def test_a_failed_send_announces_nothing(
    authed: httpx.AsyncClient, app: Any, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await start_chat(authed, await make_agent(authed))
    use_backend(monkeypatch, ScriptedBackend(fail_after=1))
    subscription = app.state.events.subscribe(await _workspace_id(database))

    response = await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages", json={"content": "Hello?"})

    assert response.status_code == 503
    assert await drain(subscription) == []
    await subscription.aclose()


async def test_an_app_without_an_event_bus_still_chats(authed: httpx.AsyncClient, app: Any, chat: dict[str, Any]
                                                       ) -> None:
    del app.state.events

    result = await send(authed, chat["id"], "How long do refunds take?")

    assert result["reply"] is not None


async def test_a_change_that_rolls_back_is_never_announced(
    authed: httpx.AsyncClient, app: Any, database: Database, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ScriptedBackend(delay=0.01)
    use_backend(monkeypatch, backend)
    subscription = app.state.events.subscribe(await _workspace_id(database))

    async def broken_read(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the response could not be built")

    def broken_frames(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the response could not be built")

    # Each request fails after its change was made and its events queued: the request's transaction rolls back.
    monkeypatch.setattr("convhub.chats.service.to_chat_read", broken_read)
    with pytest.raises(RuntimeError):
        await authed.post(f"{CONVERSATIONS}/{chat['id']}/takeover")
    monkeypatch.setattr("convhub.chats.endpoints._reply_frames", broken_frames)
    with pytest.raises(RuntimeError):
        await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages/stream", json={"content": "Hello?"})
    await replies.settle(5)

    assert await drain(subscription) == []
    await subscription.aclose()
    # Nothing of either stayed: not the takeover, not the message, not the reply the model had begun.
    assert backend.seen and backend.closed
    assert await messages(authed, chat["id"]) == []
    monkeypatch.undo()
    assert (await send(authed, chat["id"], "Still there?"))["reply"] is not None  # the agent still answers
