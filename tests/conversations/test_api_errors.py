"""Bad input on every endpoint is a 4xx that says what is wrong: never a 500, never a change."""

from __future__ import annotations

from typing import Any

import httpx

from convhub.db import Database
from tests.conftest import ingest_into
from tests.conversations.api_helpers import LIST
from tests.factories import make_conversation


def _message(response: httpx.Response) -> str:
    detail = response.json()["detail"]
    return " ".join(f"{i['loc']} {i['msg']}" for i in detail) if isinstance(detail, list) else detail["message"]


async def _expect(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    message = _message(response)
    for word in words:
        assert word.lower() in message.lower(), (response.request.url, message)


BAD_QUERIES: list[tuple[dict[str, Any] | list[tuple[str, Any]], str]] = [
    ({"status": "finished"}, "status"),
    ({"direction": "sideways"}, "direction"),
    ({"entity_type": "user"}, "entity_type"),
    ({"call_successful": "yes"}, "call_successful"),
    ({"sort": "title"}, "sort"),
    ({"order": "up"}, "order"),
    ({"has_audio": "maybe"}, "has_audio"),
    ({"archived": "2"}, "archived"),
    ({"started_after": "yesterday"}, "started_after"),
    ({"started_before": "2026-13-01"}, "started_before"),
    ({"started_after": "2026-10-01T25:00:00Z"}, "started_after"),
    ({"started_after": "99999999999999999999"}, "out of range"),
    ({"started_after": "9999-12-31T23:59:59-01:00"}, "out of range"),
    ({"started_before": "0001-01-01T00:00:00+01:00"}, "out of range"),
    ({"started_after": "2026-10-02", "started_before": "2026-10-01"}, "started_after must not be greater"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"limit": "x"}, "limit"),
    ({"limit": -1}, "limit"),
    ({"duration_min": -5}, "duration_min"),
    ({"duration_min": "long"}, "duration_min"),
    ({"duration_min": 10**30}, "duration_min"),
    ({"duration_max": 2**31}, "duration_max"),
    ([("agent_id", f"agent_{i}") for i in range(101)], "at most 100"),
    ([("metadata", f"k{i}=v") for i in range(101)], "at most 100"),
    ({"duration_min": 100, "duration_max": 10}, "duration_min must not be greater"),
    ({"rating_min": 0}, "rating_min"),
    ({"rating_max": 6}, "rating_max"),
    ({"rating_min": "4.5"}, "rating_min"),
    ({"rating_min": 5, "rating_max": 1}, "rating_min must not be greater"),
    ({"metadata": "team"}, "key=value"),
    ({"metadata": "=billing"}, "key=value"),
    ([("metadata", "team=billing"), ("metadata", "oops")], "key=value"),
    ({"metadata": 'we"ird=1'}, "metadata"),
    ({"cursor": "garbage"}, "cursor"),
    ({"cursor": "!!!!"}, "cursor"),
    ({"cursor": "é" * 10}, "cursor"),
    ({"cursor": "x" * 5000}, "cursor"),
    ({"user_id": "u\x00"}, "control characters"),
    ({"customer": "\x00"}, "control characters"),
    ({"metadata": "k=\x00"}, "control characters"),
    ({"provider": "p" * 201}, "provider"),
    ({"q": "word " * 200}, "q"),
]


async def test_bad_list_queries_are_422_with_a_message(authed: httpx.AsyncClient) -> None:
    for params, words in BAD_QUERIES:
        await _expect(await authed.get(LIST, params=params), 422, words)


async def test_a_cursor_only_continues_the_sort_it_came_from(authed: httpx.AsyncClient, database: Database) -> None:
    await ingest_into(database, "default", [make_conversation() for _ in range(3)])
    cursor = (await authed.get(LIST, params={"limit": 1})).json()["next_cursor"]
    assert cursor
    for other in ({"sort": "duration"}, {"sort": "rating"}, {"order": "asc"}):
        await _expect(await authed.get(LIST, params={**other, "cursor": cursor}), 422, "different sort order")
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    await _expect(await authed.get(LIST, params={"cursor": tampered}), 422, "invalid cursor")
    assert (await authed.get(LIST, params={"cursor": cursor})).status_code == 200


async def test_odd_ids_are_404_or_422_never_500(authed: httpx.AsyncClient) -> None:
    for ref in ("conv_does_not_exist", "会話-🙂", "' OR '1'='1", "%25", "a b"):
        for suffix in ("", "/transcript", "/audio"):
            await _expect(await authed.get(f"{LIST}/{ref}{suffix}"), 404, "not found")
        await _expect(await authed.patch(f"{LIST}/{ref}", json={"metadata": {}}), 404, "not found")
        await _expect(await authed.delete(f"{LIST}/{ref}"), 404, "not found")
    for ref, words in (("x" * 201, "at most 200"), ("%00", "control characters"), ("a%0Ab", "control characters")):
        for suffix in ("", "/transcript", "/audio"):
            await _expect(await authed.get(f"{LIST}/{ref}{suffix}"), 422, words)
        await _expect(await authed.patch(f"{LIST}/{ref}", json={"metadata": {}}), 422, words)
        await _expect(await authed.delete(f"{LIST}/{ref}"), 422, words)


async def test_rejected_patches_change_nothing(authed: httpx.AsyncClient, database: Database) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation(metadata={"keep": "me"})])
    before = (await authed.get(f"{LIST}/{conv_id}")).json()
    json_headers = {"content-type": "application/json"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"json": [{"metadata": {"a": 1}}]}, "valid dictionary"),
        ({"json": "metadata"}, "valid dictionary"),
        ({"json": None}, "body"),
        ({"content": b'{"metadata": {"a": 1}', "headers": json_headers}, "json"),
        ({"content": b"not json at all", "headers": json_headers}, "json"),
        ({"json": {"metadata": {"a": 1}, "status": "done"}}, "extra"),
        ({"json": {"meta": {"a": 1}}}, "extra"),
        ({"json": {"metadata": ["a", 1]}}, "dictionary"),
        ({"json": {"metadata": "a=1"}}, "dictionary"),
        ({"json": {"metadata": None}}, "dictionary"),
        ({"json": {"metadata": {"a": "x" * (70 * 1024)}}}, "65536 bytes"),
        ({"json": {"metadata": {"nul": "a\x00b"}}}, "NUL"),
        ({"json": {"metadata": {"k\x00": 1}}}, "NUL"),
        ({"content": b'{"metadata": {"n": NaN}}', "headers": json_headers}, "finite"),
        ({"content": b'{"metadata": {"n": [1e999]}}', "headers": json_headers}, "finite"),
        ({"json": {"metadata": {"deep": _nested(40)}}}, "nested deeper"),
    ]
    for kwargs, words in cases:
        response = await authed.patch(f"{LIST}/{conv_id}", **kwargs)
        assert response.status_code in (400, 422), (kwargs, response.text)
        await _expect(response, response.status_code, words)
    deep = "[" * 5000 + "]" * 5000
    response = await authed.patch(f"{LIST}/{conv_id}", content=deep.encode(), headers=json_headers)
    assert 400 <= response.status_code < 500, response.text
    assert (await authed.get(f"{LIST}/{conv_id}")).json() == before


async def test_metadata_may_not_grow_past_the_limit_across_patches(
    authed: httpx.AsyncClient, database: Database
) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation()])
    chunk = "x" * (40 * 1024)
    assert (await authed.patch(f"{LIST}/{conv_id}", json={"metadata": {"one": chunk}})).status_code == 200
    response = await authed.patch(f"{LIST}/{conv_id}", json={"metadata": {"two": chunk}})
    await _expect(response, 422, "the limit is 65536")
    assert set((await authed.get(f"{LIST}/{conv_id}")).json()["metadata"]) == {"one"}
    swapped = await authed.patch(f"{LIST}/{conv_id}", json={"metadata": {"one": None, "two": chunk}})
    assert set(swapped.json()["metadata"]) == {"two"}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"n": value}
    return value


async def test_unknown_routes_and_methods_are_clean_4xx(authed: httpx.AsyncClient) -> None:
    assert (await authed.put(f"{LIST}/conv_x", json={})).status_code == 405
    assert (await authed.post(f"{LIST}/conv_x/audio")).status_code == 405
    await _expect(await authed.get(f"{LIST}/a/b/c"), 404, "no such endpoint")


async def test_native_list_refuses_unknown_parameters(authed: httpx.AsyncClient) -> None:
    response = await authed.get("/v1/conversations", params={"page_size": 5})
    assert response.status_code == 422
    assert any(item["loc"][-1] == "page_size" for item in response.json()["detail"])


async def test_a_date_in_no_accepted_form_is_told_which_forms_are(authed: httpx.AsyncClient) -> None:
    for name in ("started_after", "started_before"):
        for value in ("yesterday", "31/01/2026", "2026-01-31 at noon", "now"):
            response = await authed.get(LIST, params={name: value})
            await _expect(response, 422, name, "ISO 8601 date", "date-time", "unix seconds", repr(value))
            assert "too short" not in response.text
    for value in ("2026-01-31", "2026-01-31T09:30:00Z", "2026-01-31T10:30:00+01:00", "1769851800"):
        assert (await authed.get(LIST, params={"started_after": value})).status_code == 200, value
