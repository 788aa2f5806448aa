"""Fixtures of the agent tests: the loopback fake OpenAI server, and agents made without the API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from convhub.agents.backends.openai import aclose_shared_client
from convhub.models import Agent
from tests.agents.fake_openai import FakeOpenAI, FakeOpenAIServer


@pytest.fixture(scope="session")
def openai_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def fake_openai(openai_server: FakeOpenAIServer) -> AsyncIterator[FakeOpenAI]:
    """The fake, reset to streaming its default reply; the pooled client of this test's loop is closed after."""
    openai_server.fake.reset()
    yield openai_server.fake
    await aclose_shared_client()


def make_agent(**overrides: Any) -> Agent:
    """An unsaved native agent, for the functions that only read its settings."""
    fields: dict[str, Any] = {"id": "agt_test", "workspace_id": "ws_test", "name": "Helper", "provider": "convhub",
                              "backend": "knowledge", "config": {}, "public": False}
    fields.update(overrides)
    return Agent(**fields)
