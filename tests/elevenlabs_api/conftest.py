"""Fixtures for the ElevenLabs dialect: the official ``elevenlabs`` SDK pointed at a live convhub."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

import httpx
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.types import (
    ConversationSignedUrlResponseModel,
    GetConversationResponseModel,
    GetConversationsPageResponseModel,
    TokenResponseModel,
)
from pydantic import BaseModel

from convhub.auth.service import get_workspace
from convhub.conversations.schemas import ConversationIn
from convhub.conversations.service import get_conversation
from tests.factories import attach_audio as store_audio

WORKSPACE = "acme"


class LiveServer(Protocol):
    url: str
    app: Any

    def key(self, workspace: str = "default", scopes: str = "all") -> str: ...

    def ingest(self, workspace: str, conversations: list[ConversationIn]) -> list[str]: ...

    def call(self, coro: Any) -> Any: ...


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    return live_server


@pytest.fixture
def key(server: LiveServer) -> str:
    """An all-scopes API key of workspace ``acme``."""
    return server.key(WORKSPACE)


@pytest.fixture
def http(server: LiveServer, key: str) -> Iterator[httpx.Client]:
    """Plain HTTP to the live server with the same key, for looking at bodies as they are on the wire."""
    with httpx.Client(base_url=server.url, headers={"xi-api-key": key}, timeout=30) as client:
        yield client


# The SDK's response model of each dialect endpoint that answers with a body (GET only: delete answers {}).
RESPONSE_MODELS: list[tuple[re.Pattern[str], type[BaseModel]]] = [
    (re.compile(r"^/v1/convai/conversations$"), GetConversationsPageResponseModel),
    (re.compile(r"^/v1/convai/conversations/[^/]+$"), GetConversationResponseModel),
    (re.compile(r"^/v1/convai/conversation/get-signed-url$"), ConversationSignedUrlResponseModel),
    (re.compile(r"^/v1/convai/conversation/token$"), TokenResponseModel),
]


def validate_strictly(response: httpx.Response) -> None:
    """Validate a successful dialect body against the SDK's model, in pydantic's strict mode.

    The Python SDK builds its models without validating them (``UncheckedBaseModel.construct``): a body that
    lacks a required field, or has a string where a number belongs, passes it silently, while strict clients
    (the JavaScript SDK) refuse it. So every body the ``sdk`` fixture receives is validated here as well.
    """
    if response.request.method != "GET" or not response.is_success:
        return
    for pattern, model in RESPONSE_MODELS:
        if pattern.match(response.request.url.path):
            response.read()
            model.model_validate(response.json(), strict=True)


@pytest.fixture
def sdk(server: LiveServer, key: str) -> Iterator[ElevenLabs]:
    """The official SDK, unchanged but for its base URL; every body it gets is also validated strictly."""
    # The SDK's own option: lets the test close its connections and see every response.
    with httpx.Client(timeout=30, event_hooks={"response": [validate_strictly]}) as transport:
        yield ElevenLabs(api_key=key, base_url=server.url, httpx_client=transport)


def attach_audio(server: LiveServer, conversation_id: str, data: bytes) -> None:
    """Store ``data`` as the recording of a conversation of workspace ``acme`` (the session commits)."""

    async def attach() -> None:
        async with server.app.state.db.session() as session:
            workspace = await get_workspace(session, WORKSPACE)
            conv = await get_conversation(session, workspace.id, conversation_id)
            await store_audio(session, conv, server.app.state.blobs, data)

    server.call(attach())
