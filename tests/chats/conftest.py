"""Fixtures of the chat tests: a real knowledge agent answering from a document, and a chat with it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.chats.helpers import make_agent, start_chat


@pytest.fixture
async def agent_id(authed: httpx.AsyncClient) -> str:
    return await make_agent(authed)


@pytest.fixture
async def chat(authed: httpx.AsyncClient, agent_id: str) -> dict[str, Any]:
    return await start_chat(authed, agent_id, metadata={"page": "/pricing"})
