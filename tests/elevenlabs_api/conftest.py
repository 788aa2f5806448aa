"""Fixtures for the ElevenLabs dialect: the official ``elevenlabs`` SDK pointed at a live convhub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import httpx
import pytest
from elevenlabs import ElevenLabs

from convhub.conversations.schemas import ConversationIn

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


@pytest.fixture
def sdk(server: LiveServer, key: str) -> Iterator[ElevenLabs]:
    """The official SDK, unchanged but for its base URL."""
    with httpx.Client(timeout=30) as transport:  # the SDK's own option; lets the test close its connections
        yield ElevenLabs(api_key=key, base_url=server.url, httpx_client=transport)
