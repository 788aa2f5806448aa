"""API keys on the native conversations API: who gets in, what they may do, what they may see."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from convhub.auth.service import authenticate, get_workspace, list_keys, revoke_key
from convhub.conversations import service
from convhub.db import Database
from convhub.kit.time import utcnow
from convhub.models import ApiKey
from tests.conftest import ingest_into, make_key
from tests.factories import attach_audio, make_conversation, make_turns

LIST = "/v1/conversations"


async def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message: str = response.json()["detail"]["message"]
    return message


async def test_no_key_is_401_on_every_endpoint(client: httpx.AsyncClient, database: Database) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation()])
    calls = [("GET", LIST), ("GET", f"{LIST}/active"), ("GET", f"{LIST}/{conv_id}"),
             ("GET", f"{LIST}/{conv_id}/transcript"), ("GET", f"{LIST}/{conv_id}/audio"),
             ("PATCH", f"{LIST}/{conv_id}"), ("DELETE", f"{LIST}/{conv_id}")]
    for method, url in calls:
        response = await client.request(method, url, json={"metadata": {"x": 1}} if method == "PATCH" else None)
        assert "Missing API key" in await _error(response, 401), url
        assert response.headers["www-authenticate"] == "Bearer"
    assert (await client.get(f"{LIST}/{conv_id}", headers={"xi-api-key": await make_key(database)})).json()[
        "metadata"] == {}


async def test_wrong_or_empty_keys_are_401(client: httpx.AsyncClient, api_key: str) -> None:
    for headers in ({"xi-api-key": "chk_not-a-real-key"}, {"xi-api-key": api_key + "x"},
                    {"Authorization": "Bearer chk_wrong"}, {"Authorization": f"Basic {api_key}"},
                    {"xi-api-key": ""}, {"Authorization": "Bearer "}):
        response = await client.get(LIST, headers=headers)
        assert response.status_code == 401, headers


async def test_bearer_works_as_well_as_xi_api_key(client: httpx.AsyncClient, database: Database, api_key: str) -> None:
    await ingest_into(database, "default", [make_conversation()])
    by_header = await client.get(LIST, headers={"xi-api-key": api_key})
    by_bearer = await client.get(LIST, headers={"Authorization": f"Bearer {api_key}"})
    assert by_header.status_code == by_bearer.status_code == 200
    assert by_header.json() == by_bearer.json() and len(by_header.json()["data"]) == 1


async def _last_used(database: Database) -> datetime | None:
    async with database.session() as session:
        [key] = await list_keys(session, await get_workspace(session, "default"))
    return key.last_used_at


async def test_a_key_is_marked_used_at_most_once_a_minute(database: Database, api_key: str) -> None:
    assert await _last_used(database) is None
    async with database.session() as session:
        subject = await authenticate(session, api_key)
        [key] = await list_keys(session, await get_workspace(session, "default"))
    assert (subject.workspace_id, subject.key_id, subject.scopes) == (key.workspace_id, key.id, frozenset(key.scopes))
    first = await _last_used(database)
    assert first is not None

    async with database.session() as session:
        await authenticate(session, api_key)
    assert await _last_used(database) == first  # within the minute: a read stays a read

    async with database.session() as session:
        await session.execute(update(ApiKey).values(last_used_at=utcnow() - timedelta(minutes=2)))
    async with database.session() as session:
        await authenticate(session, api_key)
    latest = await _last_used(database)
    assert latest is not None and latest > first


async def test_a_revoked_key_is_401(client: httpx.AsyncClient, database: Database) -> None:
    keep, revoked = await make_key(database), await make_key(database)
    assert (await client.get(LIST, headers={"xi-api-key": revoked})).status_code == 200
    async with database.session() as session:
        await revoke_key(session, await get_workspace(session, "default"), revoked[:12])
    for headers in ({"xi-api-key": revoked}, {"Authorization": f"Bearer {revoked}"}):
        assert "revoked" in await _error(await client.get(LIST, headers=headers), 401)
    assert (await client.get(LIST, headers={"xi-api-key": keep})).status_code == 200


async def test_a_read_only_key_reads_but_cannot_write(client: httpx.AsyncClient, database: Database) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation(metadata={"a": "1"})])
    client.headers["xi-api-key"] = await make_key(database, scopes="conversations:read")
    for url in (LIST, f"{LIST}/active", f"{LIST}/{conv_id}", f"{LIST}/{conv_id}/transcript"):
        assert (await client.get(url)).status_code == 200, url
    patch = await client.patch(f"{LIST}/{conv_id}", json={"metadata": {"a": "2"}})
    assert "conversations:write" in await _error(patch, 403)
    assert "conversations:write" in await _error(await client.delete(f"{LIST}/{conv_id}"), 403)
    after = (await client.get(f"{LIST}/{conv_id}")).json()
    assert after["metadata"] == {"a": "1"} and len(after["transcript"]) == 4


async def test_a_write_only_key_cannot_read(client: httpx.AsyncClient, database: Database) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation()])
    client.headers["xi-api-key"] = await make_key(database, scopes="conversations:write")
    assert "conversations:read" in await _error(await client.get(LIST), 403)
    assert "conversations:read" in await _error(await client.get(f"{LIST}/{conv_id}"), 403)
    assert (await client.patch(f"{LIST}/{conv_id}", json={"metadata": {"b": 1}})).status_code == 200


async def test_another_workspaces_conversations_are_invisible(
    client: httpx.AsyncClient, database: Database, app: Any
) -> None:
    theirs = make_conversation(provider_conversation_id="shared-id", status="in-progress",
                               turns=make_turns("secret pineapple"), metadata={"team": "x"})
    [their_id] = await ingest_into(database, "other", [theirs])
    [our_id] = await ingest_into(database, "default", [make_conversation(provider_conversation_id="mine",
                                                                           status="in-progress")])
    async with database.session() as session:
        ws = await get_workspace(session, "other")
        conv = await service.get_conversation(session, ws.id, their_id)
        await attach_audio(session, conv, app.state.blobs, b"ID3")
    client.headers["xi-api-key"] = await make_key(database, "default")

    for ref in (their_id, "shared-id"):
        for url in (f"{LIST}/{ref}", f"{LIST}/{ref}/transcript", f"{LIST}/{ref}/audio"):
            assert "not found" in await _error(await client.get(url), 404), url
        assert (await client.patch(f"{LIST}/{ref}", json={"metadata": {"team": "mine"}})).status_code == 404
        assert (await client.delete(f"{LIST}/{ref}")).status_code == 404
    for params in ({}, {"q": "pineapple"}, {"metadata": "team=x"}, {"provider": "elevenlabs"}):
        ids = [c["id"] for c in (await client.get(LIST, params=params)).json()["data"]]
        assert their_id not in ids, params
    assert [c["id"] for c in (await client.get(f"{LIST}/active")).json()["data"]] == [our_id]

    # untouched on their side
    client.headers["xi-api-key"] = await make_key(database, "other")
    detail = (await client.get(f"{LIST}/{their_id}")).json()
    assert detail["metadata"] == {"team": "x"} and detail["transcript"][0]["message"] == "secret pineapple"
    assert (await client.get(f"{LIST}/{their_id}/audio")).content == b"ID3"
    assert [c["id"] for c in (await client.get(LIST, params={"q": "pineapple"})).json()["data"]] == [their_id]
