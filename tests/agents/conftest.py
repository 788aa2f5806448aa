"""Fixtures of the agent tests: the loopback fake OpenAI server, and agents made without the API."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

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


MODEL_HOST = "model.test"  # a reserved name no DNS resolves: only an injected session reaches it


class FakeModelResolver(AbstractResolver):
    """Resolves ``model.test`` (any port) to the loopback fake server, and nothing else."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host != MODEL_HOST:
            raise OSError(f"{host!r} is not the fake model server")
        return [{"hostname": host, "host": "127.0.0.1", "port": self.port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass


@pytest.fixture
async def model_test_session(openai_server: FakeOpenAIServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A session of the test's own that reaches the fake at ``http://model.test`` (the network cannot)."""
    connector = aiohttp.TCPConnector(resolver=FakeModelResolver(openai_server.port), limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


def make_agent(**overrides: Any) -> Agent:
    """An unsaved native agent, for the functions that only read its settings."""
    fields: dict[str, Any] = {"id": "agt_test", "workspace_id": "ws_test", "name": "Helper", "provider": "convhub",
                              "backend": "knowledge", "config": {}, "public": False}
    fields.update(overrides)
    return Agent(**fields)
