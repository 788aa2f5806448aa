"""Bad input on every ElevenLabs-dialect endpoint: a 4xx in the reference's shapes, never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from convhub.app import create_app
from convhub.config import Settings
from convhub.db import Database
from tests.conftest import ingest_into, make_key
from tests.factories import make_conversation

LIST = "/v1/convai/conversations"
LONG = "x" * 5000
Case = tuple[str, str, dict[str, Any]]  # method, url, httpx request kwargs


def _assert_error(response: httpx.Response, status: int, loc: list[Any] | None = None) -> None:
    """``response`` is a ``status`` error in the ElevenLabs shape (and, for 422, at ``loc``)."""
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code == status, f"{request}: {response.status_code} {response.text[:300]}"
    detail = response.json()["detail"]
    if status == 422:
        assert isinstance(detail, list) and detail, request
        assert all(set(issue) >= {"loc", "msg", "type"} and issue["msg"] for issue in detail), request
        if loc is not None:
            assert detail[0]["loc"] == loc, f"{request}: {detail}"
    else:
        assert set(detail) == {"status", "message"} and detail["message"], request


@pytest.fixture
async def conv_id(database: Database) -> str:
    """A conversation of the ``authed`` client's workspace."""
    [conv] = await ingest_into(database, "default", [make_conversation()])
    return conv


# Looped over in one test each: a database per case (two backends) would cost far more than the requests.
MALFORMED_LIST_PARAMS: list[tuple[dict[str, Any], str]] = [
    ({"page_size": 0}, "page_size"),
    ({"page_size": 101}, "page_size"),
    ({"page_size": 10**30}, "page_size"),
    ({"page_size": "ten"}, "page_size"),
    ({"call_successful": "maybe"}, "call_successful"),
    ({"call_start_before_unix": -1}, "call_start_before_unix"),
    ({"call_start_after_unix": 10**20}, "call_start_after_unix"),
    ({"call_start_after_unix": "yesterday"}, "call_start_after_unix"),
    ({"call_duration_min_secs": -5}, "call_duration_min_secs"),
    ({"call_duration_max_secs": 2**40}, "call_duration_max_secs"),
    ({"rating_min": 0}, "rating_min"),
    ({"rating_max": 6}, "rating_max"),
    ({"rating_max": 2.5}, "rating_max"),
    ({"has_feedback_comment": "perhaps"}, "has_feedback_comment"),
    ({"summary_mode": "full"}, "summary_mode"),
    ({"sort_direction": "up"}, "sort_direction"),
    ({"cursor": "garbage"}, "cursor"),
    ({"cursor": "ünïcödé"}, "cursor"),
    ({"cursor": LONG}, "cursor"),
    ({"user_id": "a\x00b"}, "user_id"),
    ({"agent_id": "\x00"}, "agent_id"),
    ({"search": "\x00"}, "search"),
    ({"tool_names": ["ok", "b\x00d"]}, "tool_names"),
    ({"evaluation_params": "resolved"}, "evaluation_params"),
    ({"evaluation_params": ":success"}, "evaluation_params"),
    ({"evaluation_params": ["resolved:success", "resolved:great"]}, "evaluation_params"),
    ({"data_collection_params": ""}, "data_collection_params"),
    ({"data_collection_params": "intent"}, "data_collection_params"),
    ({"data_collection_params": ":eq:x"}, "data_collection_params"),
    ({"data_collection_params": "intent:"}, "data_collection_params"),
    ({"data_collection_params": "intent:like:x"}, "data_collection_params"),
    ({"data_collection_params": "intent:eq"}, "data_collection_params"),
    ({"data_collection_params": "amount:gt:abc"}, "data_collection_params"),
    ({"data_collection_params": "amount:lte:"}, "data_collection_params"),
    ({"data_collection_params": "amount:gte:nan"}, "data_collection_params"),
    ({"data_collection_params": "amount:lt:-inf"}, "data_collection_params"),
    ({"data_collection_params": "amount:gt:1e999"}, "data_collection_params"),
    ({"data_collection_params": "intent:exists:yes"}, "data_collection_params"),
    ({"data_collection_params": "intent:in:"}, "data_collection_params"),
    ({"data_collection_params": "intent:in:||"}, "data_collection_params"),
    ({"data_collection_params": "intent:\x00:x"}, "data_collection_params"),
    ({"data_collection_filter": "intent:between:1|2"}, "data_collection_filter"),
    ({"tool_names": [f"tool_{i}" for i in range(51)]}, "tool_names"),
    ({"main_languages": "en"}, "main_languages"),  # an ElevenLabs filter convhub cannot apply
]


async def test_list_refuses_malformed_parameters(authed: httpx.AsyncClient) -> None:
    for params, loc in MALFORMED_LIST_PARAMS:
        _assert_error(await authed.get(LIST, params=params), 422, ["query", loc])


async def test_list_survives_odd_but_valid_input(authed: httpx.AsyncClient, conv_id: str) -> None:
    odd: list[dict[str, Any]] = [
        {"search": "💥 ünïcödé 中文"},
        {"search": '"*) OR 1=1 -- NEAR('},
        {"search": LONG},
        {"user_id": LONG},
        {"agent_id": "agent_💥"},
        {"agent_id": LONG},
        {"tool_names": ["💥", ""]},
        {"evaluation_params": "a:b:c:success"},
        {"data_collection_params": ["x:eq:a:b:c", "x:in:|a||b|", "é:neq:ü", "n:gt:-1e300"]},
        {"call_start_before_unix": 0, "call_start_after_unix": 253_402_300_799},
        {"call_duration_min_secs": 2**31 - 1},
    ]
    for params in odd:
        response = await authed.get(LIST, params=params)
        assert response.status_code == 200, (params, response.text[:300])
        assert response.json()["conversations"] == [], params
    for everything in ({"search": "invoice"}, {"search": "   "}, {"cursor": ""}, {"tool_names": ""}):
        assert len((await authed.get(LIST, params=everything)).json()["conversations"]) == 1, everything


async def test_unknown_conversations_are_404_everywhere(authed: httpx.AsyncClient, conv_id: str) -> None:
    for ref in ("conv_nope", "ünïcödé 💥", LONG, "a\x00b", "%00", " ", "..", "conv_x'; DROP TABLE", conv_id + "x"):
        path = f"{LIST}/{quote(ref, safe='')}"
        cases: list[Case] = [
            ("GET", path, {}),
            ("DELETE", path, {}),
            ("GET", f"{path}/audio", {}),
            ("POST", f"{path}/feedback", {"json": {"feedback": "like"}}),
        ]
        for method, url, kwargs in cases:
            _assert_error(await authed.request(method, url, **kwargs), 404)


async def test_get_refuses_formats_it_cannot_render(authed: httpx.AsyncClient, conv_id: str) -> None:
    response = await authed.get(f"{LIST}/{conv_id}", params={"format": "opentelemetry"})
    _assert_error(response, 422, ["query", "format"])
    assert (await authed.get(f"{LIST}/{conv_id}", params={"format": "json"})).status_code == 200


async def test_feedback_refuses_malformed_bodies(authed: httpx.AsyncClient, conv_id: str) -> None:
    bodies: list[dict[str, Any]] = [
        {"json": {"feedback": "meh"}},
        {"json": {"feedback": 1}},
        {"json": {"feedback": ["like"]}},
        {"json": ["like"]},
        {"json": "like"},
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        {},
    ]
    for kwargs in bodies:
        _assert_error(await authed.post(f"{LIST}/{conv_id}/feedback", **kwargs), 422)


@pytest.mark.parametrize("path", ["/v1/convai/conversation/get-signed-url", "/v1/convai/conversation/token"])
async def test_realtime_access_refuses_bad_agents(authed: httpx.AsyncClient, path: str) -> None:
    _assert_error(await authed.get(path), 422, ["query", "agent_id"])
    _assert_error(await authed.get(path, params={"agent_id": ""}), 422, ["query", "agent_id"])
    _assert_error(await authed.get(path, params={"agent_id": LONG}), 422, ["query", "agent_id"])
    for agent in ("agent_nobody", "💥", "a\x00b"):
        _assert_error(await authed.get(path, params={"agent_id": agent}), 404)


async def test_realtime_access_refuses_bad_options(authed: httpx.AsyncClient, conv_id: str) -> None:
    signed_url = "/v1/convai/conversation/get-signed-url"
    token = "/v1/convai/conversation/token"
    agent = {"agent_id": "agent_support"}
    _assert_error(await authed.get(signed_url, params={**agent, "include_conversation_id": "perhaps"}), 422,
                  ["query", "include_conversation_id"])
    for name in ("", "a\x00b", LONG):
        _assert_error(await authed.get(token, params={**agent, "participant_name": name}), 422,
                      ["query", "participant_name"])
    assert (await authed.get(token, params={**agent, "participant_name": "Zoë 💥"})).status_code == 200


def _every_endpoint(conv: str) -> list[Case]:
    return [
        ("GET", LIST, {}),
        ("GET", f"{LIST}/{conv}", {}),
        ("DELETE", f"{LIST}/{conv}", {}),
        ("GET", f"{LIST}/{conv}/audio", {}),
        ("POST", f"{LIST}/{conv}/feedback", {"json": {"feedback": "like"}}),
        ("GET", "/v1/convai/conversation/get-signed-url", {"params": {"agent_id": "agent_support"}}),
        ("GET", "/v1/convai/conversation/token", {"params": {"agent_id": "agent_support"}}),
    ]


async def test_every_endpoint_needs_a_valid_key(client: httpx.AsyncClient, conv_id: str) -> None:
    for method, url, kwargs in _every_endpoint(conv_id):
        _assert_error(await client.request(method, url, **kwargs), 401)
        _assert_error(await client.request(method, url, headers={"xi-api-key": "chk_nope"}, **kwargs), 401)
        bearer = {b"authorization": "Bearer ünïcödé".encode()}
        _assert_error(await client.request(method, url, headers=bearer, **kwargs), 401)


async def test_writes_need_the_write_scope(client: httpx.AsyncClient, database: Database, conv_id: str) -> None:
    reader = {"xi-api-key": await make_key(database, "default", "conversations:read")}
    writes = {"DELETE", "POST"}
    for method, url, kwargs in _every_endpoint(conv_id):
        response = await client.request(method, url, headers=reader, **kwargs)
        if method in writes or "/conversation/" in url:
            _assert_error(response, 403)
            assert "conversations:write" in response.json()["detail"]["message"]
        else:
            assert response.status_code in (200, 404), (method, url, response.text)  # 404: audio, none held


async def test_openapi_declares_the_errors(tmp_path: Path) -> None:
    # The document needs no database, so this runs once rather than once per backend.
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", secret_key="s"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://convhub.test") as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    expected = {
        ("/v1/convai/conversations", "get"): {"200", "401", "403", "422"},
        ("/v1/convai/conversations/{conversation_id}", "get"): {"200", "401", "403", "404", "422"},
        ("/v1/convai/conversations/{conversation_id}", "delete"): {"200", "401", "403", "404", "422"},
        ("/v1/convai/conversations/{conversation_id}/audio", "get"): {"200", "401", "403", "404", "422"},
        ("/v1/convai/conversations/{conversation_id}/feedback", "post"): {"200", "401", "403", "404", "422"},
        ("/v1/convai/conversation/get-signed-url", "get"): {"200", "401", "403", "404", "422"},
        ("/v1/convai/conversation/token", "get"): {"200", "401", "403", "404", "422"},
    }
    for (path, method), codes in expected.items():
        responses = paths[path][method]["responses"]
        assert set(responses) == codes, (path, method)
        assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationErrorBody")
        assert responses["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    audio = paths["/v1/convai/conversations/{conversation_id}/audio"]["get"]["responses"]["200"]
    assert "audio/mpeg" in audio["content"]
    listed = {p["name"] for p in paths["/v1/convai/conversations"]["get"]["parameters"]}
    assert listed >= {"cursor", "agent_id", "call_successful", "call_start_before_unix", "call_start_after_unix",
                      "call_duration_min_secs", "call_duration_max_secs", "rating_min", "rating_max",
                      "has_feedback_comment", "user_id", "evaluation_params", "data_collection_params",
                      "tool_names", "page_size", "summary_mode", "search"}
