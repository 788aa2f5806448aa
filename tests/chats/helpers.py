"""Helpers of the chat tests: start chats, send and stream messages, and scripted backends for failures.

Replies come from the real ``knowledge`` backend unless a test swaps in a
:class:`ScriptedBackend` (slow, failing) with :func:`use_backend`, which
replaces :func:`convhub.agents.service.open_backend` — the one seam the chat
code opens backends through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from convhub.agents.backends.base import BackendError, ChatMessage
from convhub.client._sse import ServerSentEvent, aiter_sse
from convhub.db import Database
from convhub.live.bus import Event, Subscription
from tests.conftest import make_key

CONVERSATIONS = "/v1/conversations"
REFUNDS = (
    "# Refunds\n\n"
    "Refunds are paid back to the original card within five working days of the return arriving at our "
    "warehouse. Store credit is instant.\n\n"
    "# Shipping\n\n"
    "Orders ship from Rotterdam. Delivery to Germany takes two days and costs four euros.\n"
)


@dataclass
class ScriptedBackend:
    """Replies with ``words``, ``delay`` seconds apart; fails with ``fail`` after ``fail_after`` words."""

    words: Sequence[str] = ("The", " parcel", " is", " on", " its", " way.")
    delay: float = 0.0
    fail_after: int | None = None
    fail: str = "The model server is down."
    seen: list[list[ChatMessage]] = field(default_factory=list)
    produced: int = 0
    closed: bool = False

    async def stream_reply(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        self.seen.append(list(messages))
        try:
            for n, word in enumerate(self.words):
                if self.fail_after is not None and n == self.fail_after:
                    raise BackendError(self.fail)
                if self.delay:
                    await asyncio.sleep(self.delay)
                self.produced += 1
                yield word
        finally:
            self.closed = True

    @property
    def text(self) -> str:
        return "".join(self.words)


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: Any) -> None:
    async def open_backend(*args: Any, **kwargs: Any) -> Any:
        return backend

    monkeypatch.setattr("convhub.agents.service.open_backend", open_backend)


async def make_agent(client: httpx.AsyncClient, name: str = "Helper", document: str | None = REFUNDS) -> str:
    response = await client.post("/v1/agents", json={"name": name})
    assert response.status_code == 201, response.text
    agent_id: str = response.json()["id"]
    if document is not None:
        added = await client.post(f"/v1/agents/{agent_id}/documents", json={"name": "help.md", "content": document})
        assert added.status_code == 201, added.text
    return agent_id


async def start_chat(client: httpx.AsyncClient, agent_id: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(CONVERSATIONS, json={"agent_id": agent_id, **fields})
    assert response.status_code == 201, response.text
    chat: dict[str, Any] = response.json()
    return chat


async def send(client: httpx.AsyncClient, conversation_id: str, content: str, role: str = "user") -> dict[str, Any]:
    response = await client.post(f"{CONVERSATIONS}/{conversation_id}/messages", json={"content": content, "role": role})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def stream(client: httpx.AsyncClient, conversation_id: str, content: str) -> list[ServerSentEvent]:
    """Every event of a streamed reply, read to the end."""
    async with client.stream("POST", f"{CONVERSATIONS}/{conversation_id}/messages/stream",
                             json={"content": content}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        return [event async for event in aiter_sse(response.aiter_lines())]


async def messages(client: httpx.AsyncClient, conversation_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{CONVERSATIONS}/{conversation_id}/messages", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def key_for(database: Database, scopes: str, workspace: str = "default") -> str:
    return await make_key(database, workspace, scopes)


async def drain(subscription: Subscription, *, idle: float = 0.2) -> list[Event]:
    """The events the subscription holds, waiting ``idle`` seconds for stragglers."""
    events: list[Event] = []
    while True:
        try:
            events.append(await asyncio.wait_for(anext(subscription), idle))
        except TimeoutError:
            return events
