"""The official ``elevenlabs`` SDK's ``Conversation`` classes, unchanged, holding conversations with convhub agents.

Text-only (no audio interface), the client's ``base_url`` pointed at convhub:
``requires_auth=True`` makes the SDK fetch a signed URL from
``get-signed-url`` first; a public agent is opened without one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elevenlabs import AsyncElevenLabs, ElevenLabs
from elevenlabs.conversational_ai.conversation import (
    AgentChatResponsePartType,
    AsyncConversation,
    Conversation,
    ConversationInitiationData,
)

from tests.conftest import LiveServer
from tests.elevenlabs_api.test_realtime import eventually, make_agent


@pytest.fixture
def key(live_server: LiveServer) -> str:
    return live_server.key()


@pytest.fixture
def api(live_server: LiveServer, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, headers={"xi-api-key": key}, timeout=10) as client:
        yield client


class Transcript:
    """What the SDK's callbacks were given."""

    def __init__(self) -> None:
        self.responses: list[str] = []
        self.parts: list[tuple[str, str]] = []
        self.disconnects: list[Any] = []
        self.replied = threading.Event()

    def on_response(self, text: str) -> None:
        self.responses.append(text)
        self.replied.set()

    def on_part(self, text: str, kind: AgentChatResponsePartType) -> None:
        self.parts.append((kind.value, text))


def test_sdk_conversation_with_a_signed_url(live_server: LiveServer, api: httpx.Client, key: str) -> None:
    agent_id = make_agent(api)
    seen = Transcript()
    client = ElevenLabs(api_key=key, base_url=live_server.url)
    conversation = Conversation(
        client, agent_id, user_id="user-42", requires_auth=True,
        config=ConversationInitiationData(dynamic_variables={"page": "/returns"}),
        callback_agent_response=seen.on_response, callback_agent_chat_response_part=seen.on_part,
        callback_disconnect=seen.disconnects.append,
    )
    conversation.start_session()
    try:
        assert eventually(lambda: conversation._ws is not None and conversation._conversation_id)
        conversation.send_user_message("How long do refunds take?")
        assert seen.replied.wait(10)
        conversation.send_contextual_update("The user is on the returns page.")
        conversation.register_user_activity()
    finally:
        conversation.end_session()
    conversation_id = conversation.wait_for_session_end()
    assert conversation_id is not None and conversation_id.startswith("conv_")
    assert "five working days" in seen.responses[0]
    kinds = [kind for kind, _ in seen.parts]
    assert kinds[0] == "start" and kinds[-1] == "stop" and kinds.count("delta") > 3
    assert "".join(text for kind, text in seen.parts if kind == "delta") == seen.responses[0]
    assert seen.disconnects and seen.disconnects[0].reason == "user"
    # Stored like any other conversation, in both dialects.
    stored = eventually(lambda: (c := api.get(f"/v1/conversations/{conversation_id}").json())["status"] == "done"
                        and c)
    assert stored["user_id"] == "user-42" and stored["metadata"] == {"page": "/returns"}
    el = ElevenLabs(api_key=key, base_url=live_server.url).conversational_ai.conversations.get(conversation_id)
    assert [t.role for t in el.transcript] == ["user", "agent"]


def test_sdk_async_conversation_with_a_public_agent(live_server: LiveServer, api: httpx.Client, key: str) -> None:
    agent_id = make_agent(api, name="Widget", public=True)

    async def chat() -> tuple[str | None, list[str]]:
        responses: list[str] = []
        replied = asyncio.Event()

        async def on_response(text: str) -> None:
            responses.append(text)
            replied.set()

        # No API key at all: the agent is public.
        client = AsyncElevenLabs(api_key="unused", base_url=live_server.url)
        conversation = AsyncConversation(client, agent_id, requires_auth=False, callback_agent_response=on_response)
        await conversation.start_session()
        for _ in range(200):
            if conversation._ws is not None and conversation._conversation_id:
                break
            await asyncio.sleep(0.05)
        await conversation.send_user_message("Where do orders ship from?")
        await asyncio.wait_for(replied.wait(), 10)
        await conversation.end_session()
        return await conversation.wait_for_session_end(), responses

    conversation_id, responses = asyncio.run(chat())
    assert "Rotterdam" in responses[0]
    assert api.get(f"/v1/conversations/{conversation_id}").json()["agent_id"] == agent_id
