"""Fixtures of the agent tests: the loopback fake OpenAI server, and agents made without the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from convhub.models import Agent
from tests.agents.fake_openai import FakeOpenAIServer

MODEL_HOST = "model.test"  # a reserved name no DNS resolves: only an injected client reaches it


class FakeModelTransport(httpx.AsyncHTTPTransport):
    """Sends ``model.test`` (any port) to the loopback fake server over one pooled connection, and nothing else."""

    def __init__(self, port: int) -> None:
        super().__init__(limits=httpx.Limits(max_connections=1))
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != MODEL_HOST:
            raise httpx.ConnectError(f"{request.url.host!r} is not the fake model server", request=request)
        request.url = request.url.copy_with(host="127.0.0.1", port=self.port)  # the Host header stays model.test
        return await super().handle_async_request(request)


@pytest.fixture
async def model_test_client(openai_server: FakeOpenAIServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the test's own that reaches the fake at ``http://model.test`` (the network cannot)."""
    async with httpx.AsyncClient(transport=FakeModelTransport(openai_server.port)) as client:
        yield client


def make_agent(**overrides: Any) -> Agent:
    """An unsaved native agent, for the functions that only read its settings."""
    fields: dict[str, Any] = {"id": "agt_test", "workspace_id": "ws_test", "name": "Helper", "provider": "convhub",
                              "backend": "knowledge", "config": {}, "public": False}
    fields.update(overrides)
    return Agent(**fields)
