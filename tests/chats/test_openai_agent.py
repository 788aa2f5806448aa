"""A chat with an ``openai`` agent, against the loopback fake of an OpenAI-compatible server."""

from __future__ import annotations

import httpx
import pytest

from tests.agents.fake_openai import FakeOpenAI, FakeOpenAIServer
from tests.chats.helpers import messages, send, start_chat, stream


@pytest.fixture
async def openai_agent(authed: httpx.AsyncClient, openai_server: FakeOpenAIServer) -> str:
    response = await authed.post("/v1/agents", json={
        "name": "Llama helper", "backend": "openai", "base_url": openai_server.base_url, "model": "llama3.1",
        "system_prompt": "Be brief."})
    assert response.status_code == 201, response.text
    agent_id: str = response.json()["id"]
    return agent_id


async def test_the_model_streams_the_reply_and_sees_the_conversation(
    authed: httpx.AsyncClient, openai_agent: str, fake_openai: FakeOpenAI
) -> None:
    chat = await start_chat(authed, openai_agent, metadata={"plan": "pro"})
    await send(authed, chat["id"], "Hi")

    events = await stream(authed, chat["id"], "Can you help me?")

    deltas = [e.json()["delta"] for e in events if e.event == "delta"]
    assert deltas == fake_openai.deltas
    assert events[-2].json()["content"] == "Hello there, how can I help?"
    sent = fake_openai.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert '"plan":"pro"' in sent[1]["content"]
    assert [m["role"] for m in sent[2:]] == ["user", "assistant", "user"]
    assert sent[-1]["content"] == "Can you help me?"


async def test_a_model_that_breaks_off_leaves_a_partial_reply_and_a_clear_error(
    authed: httpx.AsyncClient, openai_agent: str, fake_openai: FakeOpenAI
) -> None:
    chat = await start_chat(authed, openai_agent)
    fake_openai.mode = "fail_midstream"

    events = await stream(authed, chat["id"], "Can you help me?")

    assert [e.event for e in events] == ["delta", "delta", "message", "error"]
    assert events[2].json()["content"] == "Hello there" and events[2].json()["interrupted"] is True
    assert "broke off the reply" in events[3].json()["message"]
    assert [(m["role"], m["interrupted"]) for m in await messages(authed, chat["id"])] == [
        ("user", False), ("agent", True)]


async def test_an_unreachable_model_is_a_503_on_send(authed: httpx.AsyncClient, openai_agent: str,
                                                     fake_openai: FakeOpenAI) -> None:
    chat = await start_chat(authed, openai_agent)
    fake_openai.mode = "status_500"

    response = await authed.post(f"/v1/conversations/{chat['id']}/messages", json={"content": "Hi"})

    assert response.status_code == 503
    assert "HTTP 500" in response.json()["detail"]["message"]
    assert await messages(authed, chat["id"]) == []
