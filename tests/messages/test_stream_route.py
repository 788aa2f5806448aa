"""The lean stream route (convhub/messages/stream_route.py) answers exactly as FastAPI's endpoint does: the same
status, headers and body for every kind of request, the refusals included, and it serves the usual request itself
rather than handing it over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from convhub.app import create_app
from convhub.config import Settings
from convhub.db import Database
from convhub.messages.stream_route import StreamRoute
from tests.conftest import make_key
from tests.messages.helpers import CONVERSATIONS, make_agent, messages, start_chat

# Differ from one response to the next whoever answers.
_VARYING = {"x-request-id", "server-timing", "date"}


@pytest.fixture
async def pair(settings: Settings, database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two apps on one database: the lean route in front, and FastAPI alone."""
    lean = create_app(settings.model_copy(update={"lean_stream_route": True}), database=database)
    full = create_app(settings.model_copy(update={"lean_stream_route": False}), database=database)
    assert lean.lean_stream is not None and full.lean_stream is None
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=lean), base_url="http://convhub.test") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=full), base_url="http://convhub.test") as b,
    ):
        yield a, b


async def _answer(client: httpx.AsyncClient, path: str, **request: Any) -> tuple[int, dict[str, str], str]:
    response = await client.post(path, **request)
    headers = {k: v for k, v in response.headers.items() if k not in _VARYING}
    return response.status_code, headers, response.text


def _events(body: str) -> list[str]:
    return [line.removeprefix("event: ") for line in body.splitlines() if line.startswith("event: ")]


async def test_both_routes_answer_every_kind_of_request_the_same(
    pair: tuple[httpx.AsyncClient, httpx.AsyncClient], authed: httpx.AsyncClient, api_key: str, database: Database
) -> None:
    lean, full = pair
    key = api_key
    reader = await make_key(database, scopes="conversations:read")
    agent = await make_agent(authed)
    open_chat, taken, ended = [await start_chat(authed, agent) for _ in range(3)]
    assert (await authed.post(f"{CONVERSATIONS}/{taken['id']}/takeover")).status_code == 200
    assert (await authed.post(f"{CONVERSATIONS}/{ended['id']}/end", json={})).status_code == 200

    def path(chat: dict[str, Any]) -> str:
        return f"{CONVERSATIONS}/{chat['id']}/messages/stream"

    ask = {"content": "How long do refunds take?"}
    refusals: dict[str, tuple[str, dict[str, Any]]] = {
        "no key": (path(open_chat), {"json": ask}),
        "unknown key": (path(open_chat), {"json": ask, "headers": {"xi-api-key": "chk_nope"}}),
        "bearer, unknown": (path(open_chat), {"json": ask, "headers": {"authorization": "Bearer chk_nope"}}),
        "read-only key": (path(open_chat), {"json": ask, "headers": {"xi-api-key": reader}}),
        "unknown chat": (f"{CONVERSATIONS}/conv_nope/messages/stream", {"json": ask, "headers": {"xi-api-key": key}}),
        "id too long": (f"{CONVERSATIONS}/{'x' * 201}/messages/stream", {"json": ask, "headers": {"xi-api-key": key}}),
        "ended chat": (path(ended), {"json": ask, "headers": {"xi-api-key": key}}),
        "blank message": (path(open_chat), {"json": {"content": "  "}, "headers": {"xi-api-key": key}}),
        "unknown field": (path(open_chat), {"json": {**ask, "mood": "happy"}, "headers": {"xi-api-key": key}}),
        "unknown role": (path(open_chat), {"json": {**ask, "role": "boss"}, "headers": {"xi-api-key": key}}),
        "operator, not taken over": (path(open_chat), {"json": {**ask, "role": "human_operator"},
                                                       "headers": {"xi-api-key": key}}),
        "not JSON": (path(open_chat), {"content": b"{content", "headers": {"xi-api-key": key,
                                                                            "content-type": "application/json"}}),
        "no body": (path(open_chat), {"headers": {"xi-api-key": key}}),
    }
    for name, (target, request) in refusals.items():
        a, b = await _answer(lean, target, **request), await _answer(full, target, **request)
        assert a == b, name
        assert 400 <= a[0] < 500, (name, a)

    for name, chat, headers, ending in [
        ("a reply", open_chat, {"xi-api-key": key}, ["message", "done"]),
        ("a reply, bearer key", open_chat, {"authorization": f"bearer {key}"}, ["message", "done"]),
        ("taken over", taken, {"xi-api-key": key}, ["done"]),
    ]:
        a = await _answer(lean, path(chat), json=ask, headers=headers)
        b = await _answer(full, path(chat), json=ask, headers=headers)
        assert (a[0], a[1]) == (b[0], b[1]), name
        assert a[0] == 200 and a[1]["content-type"] == "text/event-stream; charset=utf-8", name
        assert _events(a[2]) == _events(b[2]), name
        events = _events(a[2])
        words, last = events[:-len(ending)], events[-len(ending):]
        assert last == ending, name
        assert set(words) == ({"delta"} if "message" in ending else set()), name  # the agent speaks unless held


async def test_the_lean_route_serves_a_message_itself_and_hands_over_only_what_it_refuses(
    app: Any, authed: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = app.lean_stream.app
    assert isinstance(route, StreamRoute)
    handed: list[str] = []
    fallback = route.fallback

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        handed.append(scope["path"])
        await fallback(scope, receive, send)

    monkeypatch.setattr(route, "fallback", counting)
    chat = await start_chat(authed, await make_agent(authed))
    target = f"{CONVERSATIONS}/{chat['id']}/messages/stream"

    served = await authed.post(target, json={"content": "How long do refunds take?"})
    assert served.status_code == 200 and handed == []
    refused = await authed.post(target, json={"content": ""})
    assert refused.status_code == 422 and handed == [target]
    # The request handed over is the one sent: its body too, and it gets one request id.
    assert refused.json()["detail"][0]["loc"] == ["body", "content"]
    assert len(refused.headers.get_list("x-request-id")) == 1


async def test_a_request_id_given_is_the_one_returned_and_the_time_taken_is_said(
    authed: httpx.AsyncClient,
) -> None:
    chat = await start_chat(authed, await make_agent(authed))
    response = await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages/stream", json={"content": "Shipping?"},
                                 headers={"x-request-id": "req_mine"})
    assert response.status_code == 200
    assert response.headers.get_list("x-request-id") == ["req_mine"]
    assert response.headers["server-timing"].startswith("app;dur=")


async def test_another_workspaces_chat_is_not_found_through_the_lean_route(
    authed: httpx.AsyncClient, database: Database
) -> None:
    chat = await start_chat(authed, await make_agent(authed))
    before = await messages(authed, chat["id"])
    other = await make_key(database, workspace="other")
    response = await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages/stream", json={"content": "Hi"},
                                 headers={"xi-api-key": other})
    assert response.status_code == 404
    assert response.json()["detail"]["status"] == "not_found"
    assert await messages(authed, chat["id"]) == before  # nothing was added to it


@pytest.mark.parametrize(
    ("method", "path", "root_path", "matches"),
    [
        ("POST", "/v1/conversations/conv_1/messages/stream", "", True),
        ("GET", "/v1/conversations/conv_1/messages/stream", "", False),
        ("POST", "/v1/conversations/conv_1/messages/stream/", "", False),
        ("POST", "/v1/conversations/conv_1/messages", "", False),
        ("POST", "/v1/conversations/a/b/messages/stream", "", False),
        ("POST", "/v1/conversations/conv_1/messages/stream", "/api", False),
    ],
)
def test_the_lean_route_takes_only_its_own_path(method: str, path: str, root_path: str, matches: bool) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": root_path}
    assert (StreamRoute.match(scope) is not None) is matches


def test_the_lean_route_serves_a_path_the_application_documents(app: Any) -> None:
    operation = app.openapi()["paths"][f"{CONVERSATIONS}/{{id}}/messages/stream"]["post"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
