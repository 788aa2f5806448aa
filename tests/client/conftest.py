"""Factories for the SDK tests: JSON bodies the server would send, and clients wired to a mock transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from convhub.client import AsyncClient, Client

BASE_URL = "http://convhub.test"
Handler = Callable[[httpx.Request], httpx.Response]


def conversation_json(id: str = "conv_1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": id,
        "provider": "elevenlabs",
        "provider_conversation_id": f"el_{id}",
        "agent_id": "agent_1",
        "agent_name": "Support",
        "channel": "phone",
        "direction": "inbound",
        "status": "done",
        "provider_status": "done",
        "entity_type": "USER",
        "user_id": None,
        "customer_number": "+15550001",
        "agent_number": "+15550002",
        "started_at": "2024-05-01T10:00:00Z",
        "ended_at": "2024-05-01T10:02:00Z",
        "duration_secs": 120,
        "message_count": 2,
        "call_successful": "success",
        "rating": 4,
        "feedback": {"likes": 0, "dislikes": 0, "comment": None},
        "summary": "Customer asked about billing.",
        "title": "Billing question",
        "sentiment": "positive",
        "termination_reason": "end_call",
        "cost_cents": 12.5,
        "metadata": {},
        "has_audio": False,
        "archived": False,
        "created_at": "2024-05-01T10:02:01Z",
        "updated_at": "2024-05-01T10:02:01Z",
    }
    body.update(overrides)
    return body


def turn_json(index: int, role: str = "user", message: str = "hello") -> dict[str, Any]:
    return {
        "id": f"msg_{index + 1:026}",
        "index": index,
        "role": role,
        "message": message,
        "time_in_call_secs": float(index * 3),
        "tool_calls": [],
        "tool_results": [],
        "feedback": None,
        "rating": None,
        "interrupted": False,
        "source_medium": "audio",
        "llm_usage": None,
        "created_at": "2024-05-01T10:00:00Z",
    }


def page_json(ids: list[str], next_cursor: str | None = None) -> dict[str, Any]:
    return {
        "data": [conversation_json(i) for i in ids],
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


def error_response(status: int, message: str = "boom", code: str = "error", **kwargs: Any) -> httpx.Response:
    return httpx.Response(
        status,
        json={"detail": {"status": code, "message": message}},
        headers={"x-request-id": "req_123", **kwargs.pop("headers", {})},
        **kwargs,
    )


class Sleeps(list[float]):
    """Records the delays the client asked for instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(sleeps: Sleeps) -> Iterator[Callable[..., Client]]:
    """``make_client(handler, **client_kwargs)``: a Client whose requests go to ``handler``."""
    opened: list[httpx.Client] = []

    def make(handler: Handler, **kwargs: Any) -> Client:
        http = httpx.Client(transport=httpx.MockTransport(handler))
        opened.append(http)
        kwargs.setdefault("api_key", "sk_test")
        kwargs.setdefault("base_url", BASE_URL)
        client = Client(http_client=http, **kwargs)
        client._sleep = sleeps
        return client

    yield make
    for http in opened:
        http.close()


@pytest.fixture
async def make_async_client(sleeps: Sleeps) -> AsyncIterator[Callable[..., AsyncClient]]:
    opened: list[httpx.AsyncClient] = []

    def make(handler: Handler, **kwargs: Any) -> AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        opened.append(http)
        kwargs.setdefault("api_key", "sk_test")
        kwargs.setdefault("base_url", BASE_URL)
        client = AsyncClient(http_client=http, **kwargs)
        client._sleep = sleeps.async_sleep
        return client

    yield make
    for http in opened:
        await http.aclose()


class Recorder:
    """A handler that answers from a script of responses, in order, and keeps the requests."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.script = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.script:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class Pages:
    """A list endpoint serving three pages, chosen by the request's cursor."""

    def __init__(self) -> None:
        self.by_cursor = {
            None: page_json(["c1", "c2"], next_cursor="cur_2"),
            "cur_2": page_json(["c3", "c4"], next_cursor="cur_3"),
            "cur_3": page_json(["c5"]),
        }
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.url.path == "/v1/conversations"
        return httpx.Response(200, json=self.by_cursor[request.url.params.get("cursor")])
