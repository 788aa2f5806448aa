"""Migration 0005 on a database that already holds a chat: every stored message gets its ``msg_`` id.

The database is built at 0004 and filled with SQL as the code of that time
stored chats (the models of today would write the new column), then upgraded;
the chat is then used through the API as a client would: listed, rated,
searched, continued.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine
from ulid import ULID

from convhub.app import create_app
from convhub.config import Settings
from convhub.db import Database
from convhub.migrate import alembic_config, upgrade
from tests.chats.helpers import ScriptedBackend, use_backend
from tests.conftest import BACKENDS, PG_ADMIN_URL, _pg_admin, make_key

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
SAID = [("user", "How long do refunds take?"), ("agent", "Refunds are paid within five working days."),
        ("user", "Thanks, that helps.")]


@pytest.fixture(params=BACKENDS)
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database at revision 0004."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        upgrade(url, "0004")
        yield url
        return
    request.getfixturevalue("pg_url")  # skipped (or failed, in CI) the same way when PostgreSQL is not there
    name = f"convhub_test_mig_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url, "0004")
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(url: str, *statements: tuple[str, Any]) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            results = [await conn.execute(sa.text(sql), params) for sql, params in statements]
            return [r.all() if r.returns_rows else None for r in results]
    finally:
        await engine.dispose()


async def _fill_as_0004_did(url: str) -> None:
    """A workspace ``acme`` with a native agent and one chat of three messages, stored as 0004's code did."""
    naive = T0.replace(tzinfo=None)
    conversation = {
        "id": "conv_old", "ws": "ws_old", "agent": "agt_old", "at": naive, "hash": "0" * 64, "json": "{}",
        "no": False,
    }
    turns = [
        {"ws": "ws_old", "conv": "conv_old", "idx": i, "role": role, "message": text, "secs": float(i),
         "json": "[]", "extra": "{}", "no": False, "at": naive + timedelta(seconds=i)}
        for i, (role, text) in enumerate(SAID)
    ]
    await _execute(
        url,
        ("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_old', 'acme', :at)", {"at": naive}),
        ("INSERT INTO agents (id, workspace_id, name, provider, backend, config, public, created_at, updated_at)"
         " VALUES ('agt_old', 'ws_old', 'Help', 'convhub', 'knowledge', '{}', :no, :at, :at)",
         {"at": naive, "no": False}),
        ("INSERT INTO conversations (id, workspace_id, provider, provider_conversation_id, agent_id, channel, status,"
         " entity_type, started_at, duration_secs, message_count, call_successful, feedback_likes,"
         " feedback_dislikes, metadata, analysis, has_audio, has_user_audio, has_response_audio, archived,"
         " content_hash, last_activity_at, created_at, updated_at)"
         " VALUES (:id, :ws, 'convhub', :id, :agent, 'chat', 'in-progress', 'USER', :at, 2, 3, 'unknown', 0, 0,"
         " :json, :json, :no, :no, :no, :no, :hash, :at, :at, :at)", conversation),
        *[("INSERT INTO turns (workspace_id, conversation_id, idx, role, message, time_in_call_secs, tool_calls,"
           " tool_results, interrupted, source_medium, extra, created_at)"
           " VALUES (:ws, :conv, :idx, :role, :message, :secs, :json, :json, :no, 'text', :extra, :at)", t)
          for t in turns],
    )
    if url.startswith("sqlite"):
        # 0004's code fed SQLite's full-text index itself, after inserting the turns.
        await _execute(url, ("INSERT INTO turns_fts(rowid, message) SELECT id, message FROM turns", {}))


@pytest.fixture
async def upgraded(old_url: str, tmp_path: Path) -> AsyncIterator[str]:
    await _fill_as_0004_did(old_url)
    await asyncio.to_thread(upgrade, old_url)
    yield old_url


@pytest.fixture
async def api(upgraded: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    database = Database(upgraded)
    app = create_app(Settings(data_dir=tmp_path / "data", database_url=upgraded, secret_key="test-secret"),
                     database=database)
    key = await make_key(database, "acme")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://convhub.test",
                                 headers={"xi-api-key": key}) as client:
        yield client
    await database.dispose()


async def test_every_existing_message_gets_an_id_that_sorts_by_when_it_was_said(upgraded: str) -> None:
    [rows] = await _execute(upgraded, ("SELECT id, public_id, created_at FROM turns ORDER BY id", {}))

    ids = [public_id for _, public_id, _ in rows]
    assert len(ids) == len(set(ids)) == 3
    assert all(i.startswith("msg_") and len(i) == 30 for i in ids)
    assert ids == sorted(ids)
    assert [ULID.from_str(i.removeprefix("msg_").upper()).datetime for i in ids] == [
        T0 + timedelta(seconds=n) for n in range(3)]


async def test_the_column_is_required_and_unique_after_the_upgrade(upgraded: str) -> None:
    [[(taken,)]] = await _execute(upgraded, ("SELECT public_id FROM turns WHERE idx = 0", {}))
    insert = ("INSERT INTO turns (workspace_id, conversation_id, idx, role, message, time_in_call_secs, tool_calls,"
              " tool_results, interrupted, extra, created_at, public_id)"
              " VALUES ('ws_old', 'conv_old', 9, 'user', 'x', 0, '[]', '[]', :no, '{}', :at, :public_id)")
    at = T0.replace(tzinfo=None)

    with pytest.raises(sa.exc.IntegrityError):
        await _execute(upgraded, (insert, {"no": False, "at": at, "public_id": None}))
    with pytest.raises(sa.exc.IntegrityError):
        await _execute(upgraded, (insert, {"no": False, "at": at, "public_id": taken}))


async def test_an_upgraded_chat_is_listed_rated_searched_and_continued(
    api: httpx.AsyncClient, upgraded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_backend(monkeypatch, ScriptedBackend())
    listed = (await api.get("/v1/conversations/conv_old/messages")).json()["data"]
    old_ids = [m["id"] for m in listed]

    rated = await api.post(f"/v1/messages/{old_ids[1]}/rating", json={"rating": 5, "feedback": "Clear"})
    user_message = await api.post(f"/v1/messages/{old_ids[0]}/rating", json={"rating": 5})
    found = (await api.get("/v1/conversations", params={"q": "refunds"})).json()["data"]
    sent = await api.post("/v1/conversations/conv_old/messages", json={"content": "Where is my parcel?"})
    found_new = (await api.get("/v1/conversations", params={"q": "parcel"})).json()["data"]
    deleted = await api.delete("/v1/conversations/conv_old")
    found_after_delete = (await api.get("/v1/conversations", params={"q": "refunds"})).json()["data"]

    assert [(m["role"], m["content"]) for m in listed] == SAID
    assert rated.status_code == 200 and (rated.json()["id"], rated.json()["rating"]) == (old_ids[1], 5)
    assert user_message.status_code == 422
    # Full-text search survived the rebuild of the table: old turns are found, new ones indexed.
    assert [c["id"] for c in found] == ["conv_old"]
    assert sent.status_code == 201, sent.text
    new_ids = [sent.json()["message"]["id"], sent.json()["reply"]["id"]]
    assert new_ids == sorted(new_ids) and min(new_ids) > max(old_ids)
    assert [c["id"] for c in found_new] == ["conv_old"]
    assert deleted.status_code in (200, 204) and found_after_delete == []
    if upgraded.startswith("sqlite"):
        # The rebuilt table has its full-text triggers again: deleted turns left the index too.
        [[(left,)]] = await _execute(upgraded, ("SELECT count(*) FROM turns_fts WHERE turns_fts MATCH 'refunds'", {}))
        assert left == 0


async def test_downgrade_drops_the_ids_and_keeps_search_working(upgraded: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(upgraded), "0004")
    engine = create_async_engine(upgraded)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: [col["name"] for col in sa.inspect(c).get_columns("turns")])
    finally:
        await engine.dispose()
    assert "public_id" not in columns
    if upgraded.startswith("sqlite"):
        [[(count,)]] = await _execute(upgraded, ("SELECT count(*) FROM turns_fts WHERE turns_fts MATCH 'refunds'", {}))
        await _execute(upgraded, ("DELETE FROM turns", {}))
        [[(after,)]] = await _execute(upgraded, ("SELECT count(*) FROM turns_fts WHERE turns_fts MATCH 'refunds'", {}))
        assert (count, after) == (2, 0)  # the delete trigger is back
    await asyncio.to_thread(upgrade, upgraded)  # and up again
