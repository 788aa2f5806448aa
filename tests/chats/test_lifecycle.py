"""A chat's life on the native API: started, messages answered and stored, ended — and the 409s.

Archiving (any finished conversation, a chat too) is tests/conversations/test_archive.py."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from convhub.conversations.schemas import AgentRef
from convhub.db import Database
from convhub.models import AuditLog
from tests.chats.helpers import (
    CONVERSATIONS,
    ScriptedBackend,
    make_agent,
    messages,
    send,
    start_chat,
    use_backend,
)
from tests.conftest import ingest_into, make_key
from tests.factories import make_conversation


async def test_a_chat_starts_in_progress_with_its_own_id_as_provider_id(
    authed: httpx.AsyncClient, agent_id: str
) -> None:
    created = await start_chat(authed, agent_id, entity_type="LEAD", title="Pricing question",
                               user_id="user-789", metadata={"source": "website_widget"})

    assert created["id"].startswith("conv_")
    assert (created["provider"], created["provider_conversation_id"]) == ("convhub", created["id"])
    assert (created["channel"], created["status"], created["entity_type"]) == ("chat", "in-progress", "LEAD")
    assert (created["agent_id"], created["agent_name"]) == (agent_id, "Helper")
    assert (created["title"], created["user_id"]) == ("Pricing question", "user-789")
    assert created["metadata"] == {"source": "website_widget"}
    assert created["message_count"] == 0 and created["ended_at"] is None
    assert created["last_activity_at"] == created["started_at"]
    assert created["taken_over_by"] is None
    # It is a conversation like any other: listed and readable through the conversations API.
    listed = (await authed.get(CONVERSATIONS, params={"provider": "convhub"})).json()["data"]
    assert [c["id"] for c in listed] == [created["id"]]
    assert (await authed.get(f"{CONVERSATIONS}/{created['id']}")).json()["status"] == "in-progress"


async def test_a_chat_needs_a_native_agent_of_the_workspace(
    authed: httpx.AsyncClient, database: Database, app: Any
) -> None:
    await ingest_into(database, "default", [make_conversation(
        agent=AgentRef(provider_agent_id="el_sales", name="Sales Sally"))])
    mirrored = (await authed.get("/v1/agents", params={"provider": "elevenlabs"})).json()["data"][0]["id"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://convhub.test",
                                 headers={"xi-api-key": await make_key(database, "other")}) as elsewhere:
        foreign = await make_agent(elsewhere, name="Theirs")

    refused = await authed.post(CONVERSATIONS, json={"agent_id": mirrored})
    unknown = await authed.post(CONVERSATIONS, json={"agent_id": "agt_nope"})
    not_ours = await authed.post(CONVERSATIONS, json={"agent_id": foreign})
    bad_entity = await authed.post(CONVERSATIONS, json={"agent_id": foreign, "entity_type": "ROBOT"})

    assert refused.status_code == 422, refused.text
    assert "native agent" in refused.json()["detail"][0]["msg"]
    assert unknown.status_code == 404 and not_ours.status_code == 404
    assert bad_entity.status_code == 422


async def test_a_message_is_answered_from_the_agents_documents_and_both_are_stored(
    authed: httpx.AsyncClient, chat: dict[str, Any]
) -> None:
    result = await send(authed, chat["id"], "How long do refunds take?")

    sent, reply = result["message"], result["reply"]
    assert (sent["role"], sent["content"], sent["index"]) == ("user", "How long do refunds take?", 0)
    assert reply["role"] == "agent" and reply["index"] == 1
    assert "five working days" in reply["content"] and reply["content"] == reply["message"]
    assert reply["conversation_id"] == chat["id"] and reply["interrupted"] is False
    stored = await messages(authed, chat["id"])
    assert [(m["id"], m["role"], m["content"]) for m in stored] == [
        (sent["id"], "user", "How long do refunds take?"), (reply["id"], "agent", reply["content"])]
    conversation = (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).json()
    assert conversation["message_count"] == 2
    assert conversation["updated_at"] >= chat["updated_at"]
    assert [t["message"] for t in conversation["transcript"]] == ["How long do refunds take?", reply["content"]]


async def test_the_agent_sees_the_history_and_the_metadata(
    authed: httpx.AsyncClient, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await send(authed, chat["id"], "How long do refunds take?")
    backend = ScriptedBackend()
    use_backend(monkeypatch, backend)

    result = await send(authed, chat["id"], "And shipping to Germany?")

    assert result["reply"]["content"] == backend.text
    [seen] = backend.seen
    said = [(m.role, m.content) for m in seen if m.role != "system"]
    assert said[0] == ("user", "How long do refunds take?") and said[1][0] == "assistant"
    assert said[-1] == ("user", "And shipping to Germany?")
    assert any('"page":"/pricing"' in m.content for m in seen if m.role == "system")
    assert [m["index"] for m in await messages(authed, chat["id"])] == [0, 1, 2, 3]


async def test_a_failing_agent_stores_nothing_so_the_message_can_be_sent_again(
    authed: httpx.AsyncClient, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_backend(monkeypatch, ScriptedBackend(fail_after=2))

    response = await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages", json={"content": "Where is my parcel?"})

    assert response.status_code == 503, response.text
    assert "The model server is down." in response.json()["detail"]["message"]
    assert await messages(authed, chat["id"]) == []
    assert (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).json()["message_count"] == 0


async def test_concurrent_messages_each_get_their_own_place(
    authed: httpx.AsyncClient, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_backend(monkeypatch, ScriptedBackend(delay=0.01))

    await asyncio.gather(*(send(authed, chat["id"], f"question {n}") for n in range(4)))

    stored = await messages(authed, chat["id"])
    assert [m["index"] for m in stored] == list(range(8))
    assert sorted(m["content"] for m in stored if m["role"] == "user") == [f"question {n}" for n in range(4)]
    assert (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).json()["message_count"] == 8


@pytest.mark.parametrize("body", [{"content": ""}, {"content": "   "}, {"content": "hi", "role": "agent"},
                                  {"content": "a\x00b"}, {"content": "x" * 20_001}, {"text": "hi"}])
async def test_a_malformed_message_is_refused(authed: httpx.AsyncClient, chat: dict[str, Any],
                                              body: dict[str, Any]) -> None:
    response = await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages", json=body)

    assert response.status_code == 422, response.text
    assert await messages(authed, chat["id"]) == []


async def test_sending_to_an_unknown_conversation_is_404(authed: httpx.AsyncClient) -> None:
    response = await authed.post(f"{CONVERSATIONS}/conv_nope/messages", json={"content": "hi"})

    assert response.status_code == 404


# ---------------------------------------------------------------- ending and archiving


async def test_ending_stores_the_rating_and_then_messages_are_refused(
    authed: httpx.AsyncClient, chat: dict[str, Any], database: Database
) -> None:
    await send(authed, chat["id"], "How long do refunds take?")

    ended = await authed.post(f"{CONVERSATIONS}/{chat['id']}/end",
                              json={"rating": 4, "feedback": "Helpful but a bit slow."})

    assert ended.status_code == 200, ended.text
    body = ended.json()
    assert (body["status"], body["rating"], body["termination_reason"]) == ("done", 4, "ended")
    assert body["feedback"]["comment"] == "Helpful but a bit slow."
    assert body["ended_at"] is not None and body["ended_at"] >= body["started_at"]
    for path in ("messages", "messages/stream"):
        refused = await authed.post(f"{CONVERSATIONS}/{chat['id']}/{path}", json={"content": "one more thing"})
        assert refused.status_code == 409, refused.text
        assert "has ended" in refused.json()["detail"]["message"]
    again = await authed.post(f"{CONVERSATIONS}/{chat['id']}/end")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]["message"]
    assert len(await messages(authed, chat["id"])) == 2
    async with database.session() as session:
        actions = (await session.execute(select(AuditLog.action).where(AuditLog.target_id == chat["id"]))).scalars()
        assert {"conversation.created", "conversation.ended"} <= set(actions)


async def test_a_chat_ends_without_a_body_and_keeps_no_rating(authed: httpx.AsyncClient,
                                                              chat: dict[str, Any]) -> None:
    ended = await authed.post(f"{CONVERSATIONS}/{chat['id']}/end")

    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["rating"]) == ("done", None)


async def test_writing_needs_the_write_scope_and_another_workspace_sees_nothing(
    authed: httpx.AsyncClient, chat: dict[str, Any], database: Database
) -> None:
    reader = {"xi-api-key": await make_key(database, "default", "conversations:read")}
    stranger = {"xi-api-key": await make_key(database, "other")}

    assert (await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages", json={"content": "hi"},
                              headers=reader)).status_code == 403
    assert (await authed.post(f"{CONVERSATIONS}/{chat['id']}/end", headers=reader)).status_code == 403
    assert (await authed.get(f"{CONVERSATIONS}/{chat['id']}/messages", headers=reader)).status_code == 200
    assert (await authed.get(f"{CONVERSATIONS}/{chat['id']}/messages", headers=stranger)).status_code == 404
    assert (await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages", json={"content": "hi"},
                              headers=stranger)).status_code == 404


async def test_a_chat_is_visible_at_once_through_the_elevenlabs_dialect(
    authed: httpx.AsyncClient, chat: dict[str, Any]
) -> None:
    result = await send(authed, chat["id"], "How long do refunds take?")

    response = await authed.get(f"/v1/convai/conversations/{chat['id']}")

    assert response.status_code == 200, response.text
    transcript = response.json()["transcript"]
    assert [(t["role"], t["message"]) for t in transcript] == [
        ("user", "How long do refunds take?"), ("agent", result["reply"]["content"])]
