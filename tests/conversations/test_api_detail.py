"""GET one, transcript, PATCH metadata, DELETE, audio, active, and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from convhub.auth.service import ensure_workspace
from convhub.conversations import service
from convhub.conversations.schemas import AgentRef
from convhub.db import Database
from convhub.models import AuditLog, Conversation, EvaluationResult, Turn
from tests.conftest import ingest_into
from tests.conversations.api_helpers import LIST
from tests.factories import BASE_TIME, attach_audio, make_conversation, make_turns


async def _count(database: Database, model: Any, *where: Any) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def _attach_audio(database: Database, app: Any, conversation_id: str, data: bytes) -> str:
    async with database.session() as session:
        ws = await ensure_workspace(session, "default")
        conv = await service.get_conversation(session, ws.id, conversation_id)
        return await attach_audio(session, conv, app.state.blobs, data)


async def test_get_by_convhub_or_provider_id_returns_the_detail(authed: httpx.AsyncClient, database: Database) -> None:
    conv = make_conversation(provider_conversation_id="EL-123", metadata={"crm": "42"})
    [conv_id] = await ingest_into(database, "default", [conv])
    by_id = await authed.get(f"{LIST}/{conv_id}")
    by_provider_id = await authed.get(f"{LIST}/EL-123")
    assert by_id.status_code == 200
    assert by_id.json() == by_provider_id.json()
    detail = by_id.json()
    assert detail["id"] == conv_id and detail["provider_conversation_id"] == "EL-123"
    assert [t["message"] for t in detail["transcript"]] == [t.message for t in conv.turns]
    assert [t["index"] for t in detail["transcript"]] == [0, 1, 2, 3]
    assert detail["evaluation_results"] == [{"criteria_id": "resolved", "result": "success", "rationale": "ok"}]
    assert detail["data_collection"][0]["value"] == "billing"
    assert detail["metadata"] == {"crm": "42"}


async def test_transcript_lists_the_turns_in_order(authed: httpx.AsyncClient, database: Database) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation(turns=make_turns("one", "two", "three"))])
    body = (await authed.get(f"{LIST}/{conv_id}/transcript")).json()
    assert body["conversation_id"] == conv_id
    assert [(t["index"], t["role"], t["message"]) for t in body["turns"]] == [
        (0, "agent", "one"), (1, "user", "two"), (2, "agent", "three")]


async def test_ingested_turns_are_messages_with_ids_of_their_own(authed: httpx.AsyncClient, database: Database
                                                                 ) -> None:
    # Several conversations in one batch: the bulk insert gives every turn its own id.
    ids = await ingest_into(database, "default", [make_conversation(provider_conversation_id=f"EL-{n}",
                                                                    turns=make_turns("one", "two", "three"))
                                                  for n in range(2)])
    transcripts = [(await authed.get(f"{LIST}/{conv_id}/transcript")).json()["turns"] for conv_id in ids]
    details = [(await authed.get(f"{LIST}/{conv_id}")).json()["transcript"] for conv_id in ids]

    turn_ids = [t["id"] for turns in transcripts for t in turns]
    assert all(i.startswith("msg_") and len(i) == 30 for i in turn_ids) and len(set(turn_ids)) == 6
    assert [[t["id"] for t in turns] for turns in details] == [[t["id"] for t in turns] for turns in transcripts]


async def test_patch_merges_metadata_and_null_removes_a_key(authed: httpx.AsyncClient, database: Database) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation(metadata={"crm": "42", "team": "a"})])
    before = (await authed.get(f"{LIST}/{conv_id}")).json()
    response = await authed.patch(f"{LIST}/{conv_id}", json={"metadata": {
        "team": None, "tags": ["vip", "urgent"], "score": 0.5, "nested": {"x": {"y": True}}, "absent": None,
    }})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metadata"] == {"crm": "42", "tags": ["vip", "urgent"], "score": 0.5, "nested": {"x": {"y": True}}}
    assert "transcript" not in body and body["id"] == conv_id
    assert datetime.fromisoformat(body["updated_at"]) > datetime.fromisoformat(before["updated_at"])
    again = (await authed.get(f"{LIST}/{conv_id}")).json()
    assert again["metadata"] == body["metadata"] and again["updated_at"] == body["updated_at"]
    assert again["transcript"] == before["transcript"]

    # by the provider's id too, and an empty patch changes nothing
    pid = before["provider_conversation_id"]
    assert (await authed.patch(f"{LIST}/{pid}", json={"metadata": {"crm": 43}})).json()["metadata"]["crm"] == 43
    assert (await authed.patch(f"{LIST}/{conv_id}", json={})).json()["metadata"]["crm"] == 43
    assert await _count(database, AuditLog, AuditLog.action == "conversation.metadata_updated") == 3


async def test_delete_removes_the_conversation_its_turns_and_audio(
    authed: httpx.AsyncClient, database: Database, app: Any
) -> None:
    keep, gone = await ingest_into(database, "default", [make_conversation(), make_conversation()])
    key = await _attach_audio(database, app, gone, b"ID3 audio")
    response = await authed.delete(f"{LIST}/{gone}")
    assert response.status_code == 204 and response.content == b""
    for suffix in ("", "/transcript", "/audio"):
        assert (await authed.get(f"{LIST}/{gone}{suffix}")).status_code == 404
    assert (await authed.delete(f"{LIST}/{gone}")).status_code == 404
    assert await _count(database, Turn, Turn.conversation_id == gone) == 0
    assert await _count(database, EvaluationResult, EvaluationResult.conversation_id == gone) == 0
    assert not await app.state.blobs.exists(key)
    assert [c["id"] for c in (await authed.get(LIST)).json()["data"]] == [keep]
    assert await _count(database, Turn, Turn.conversation_id == keep) == 4


async def test_audio_streams_the_stored_mp3(authed: httpx.AsyncClient, database: Database, app: Any) -> None:
    with_audio, without = await ingest_into(database, "default", [make_conversation(), make_conversation()])
    data = bytes(range(256)) * 1024  # larger than one chunk of the blob store
    await _attach_audio(database, app, with_audio, data)
    response = await authed.get(f"{LIST}/{with_audio}/audio")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content == data
    missing = await authed.get(f"{LIST}/{without}/audio")
    assert missing.status_code == 404
    assert missing.json()["detail"]["message"] == f"Conversation {without!r} has no audio recording."


async def test_audio_whose_blob_vanished_is_a_404(authed: httpx.AsyncClient, database: Database, app: Any) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation()])
    key = await _attach_audio(database, app, conv_id, b"ID3")
    await app.state.blobs.delete(key)
    assert (await authed.get(f"{LIST}/{conv_id}/audio")).status_code == 404


async def test_active_lists_live_conversations_with_their_latest_turn(
    authed: httpx.AsyncClient, database: Database
) -> None:
    agent = AgentRef(provider_agent_id="live_agent", name="Live")
    live, ringing, _done, _failed = await ingest_into(database, "default", [
        make_conversation(status="in-progress", agent=agent, turns=make_turns("Hi", "I need help", "Sure")),
        make_conversation(status="initiated", agent=agent, turns=[]),
        make_conversation(status="done"),
        make_conversation(status="failed"),
    ])
    response = await authed.get(f"{LIST}/active")
    assert response.status_code == 200
    data = response.json()["data"]
    assert [c["id"] for c in data] == [ringing, live]  # newest first
    assert data[0]["latest_turn"] is None
    assert data[1]["latest_turn"]["message"] == "Sure" and data[1]["latest_turn"]["index"] == 2
    assert data[1]["status"] == "in-progress" and data[1]["agent_name"] == "Live"


async def test_a_write_is_committed_before_its_response_is_sent(
    app: Any, api_key: str, database: Database
) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation()])
    rows_when_answered: list[int] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":  # look from another connection, as another client would
            rows_when_answered.append(await _count(database, Conversation, Conversation.id == conv_id))

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "DELETE",
             "scheme": "http", "path": f"{LIST}/{conv_id}", "raw_path": f"{LIST}/{conv_id}".encode(),
             "query_string": b"", "root_path": "", "server": ("convhub.test", 80), "client": ("127.0.0.1", 1),
             "headers": [(b"host", b"convhub.test"), (b"xi-api-key", api_key.encode())]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    asgi: Callable[..., Awaitable[None]] = app
    await asgi(scope, receive, send)
    assert rows_when_answered == [0]


async def test_openapi_documents_every_endpoint_and_its_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    expected = {
        LIST: {"get": {"200", "401", "403", "422"}},
        f"{LIST}/active": {"get": {"200", "401", "403"}},
        f"{LIST}/{{id}}": {"get": {"200", "401", "403", "404", "422"}, "patch": {"200", "401", "403", "404", "422"},
                           "delete": {"204", "401", "403", "404", "422"}},
        f"{LIST}/{{id}}/transcript": {"get": {"200", "401", "403", "404", "422"}},
        f"{LIST}/{{id}}/audio": {"get": {"200", "401", "403", "404", "422"}},
    }
    for path, methods in expected.items():
        # The chat endpoints share some paths (POST /v1/conversations); their own test covers them.
        mine = {m for m, op in paths[path].items() if op.get("tags") == ["conversations"]}
        assert mine == set(methods), path
        for method, codes in methods.items():
            operation = paths[path][method]
            assert set(operation["responses"]) == codes, (path, method)
            assert operation["tags"] == ["conversations"] and operation["summary"]
    assert "audio/mpeg" in paths[f"{LIST}/{{id}}/audio"]["get"]["responses"]["200"]["content"]
    validation = paths[LIST]["get"]["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert validation.endswith("/ValidationErrorBody")
    listed = {p["name"] for p in paths[LIST]["get"]["parameters"]}
    assert {"agent_id", "customer", "started_after", "metadata", "q", "sort", "order", "limit", "cursor"} <= listed
    assert paths[f"{LIST}/{{id}}"]["patch"]["requestBody"]["required"] is True


async def test_list_shows_started_at_in_utc(authed: httpx.AsyncClient, database: Database) -> None:
    await ingest_into(database, "default", [make_conversation(started_at=BASE_TIME)])
    [row] = (await authed.get(LIST)).json()["data"]
    assert datetime.fromisoformat(row["started_at"]) == BASE_TIME
