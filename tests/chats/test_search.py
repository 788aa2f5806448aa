"""Chat messages are searchable as soon as they are sent, and appending them keeps SQLite's index sound."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from convhub.db import Database
from tests.chats.helpers import CONVERSATIONS, send
from tests.conftest import make_key


async def _found(client: httpx.AsyncClient, query: str) -> list[str]:
    response = await client.get(CONVERSATIONS, params={"q": query})
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["data"]]


async def _check_index(database: Database) -> None:
    if not database.is_sqlite:
        return
    async with database.session() as session:
        # FTS5 raises "database disk image is malformed" when its index disagrees with the turns table.
        await session.execute(text("INSERT INTO turns_fts(turns_fts, rank) VALUES ('integrity-check', 1)"))


async def test_every_message_of_a_chat_is_found_once_and_the_index_stays_sound(
    authed: httpx.AsyncClient, chat: dict[str, Any], database: Database
) -> None:
    await send(authed, chat["id"], "Do you deliver to Germany?")
    await send(authed, chat["id"], "How long do refunds take?")
    await send(authed, chat["id"], "Can I get store credit instead?")

    for word in ("Germany", "refunds", "credit", "Rotterdam"):
        assert await _found(authed, word) == [chat["id"]], word
    await _check_index(database)

    assert (await authed.delete(f"{CONVERSATIONS}/{chat['id']}")).status_code == 204
    assert await _found(authed, "Germany") == []
    await _check_index(database)


async def test_a_takeover_notice_and_operator_messages_are_indexed_too(
    authed: httpx.AsyncClient, chat: dict[str, Any], database: Database
) -> None:
    await send(authed, chat["id"], "I want a human")
    assert (await authed.post(f"{CONVERSATIONS}/{chat['id']}/takeover")).status_code == 200
    await send(authed, chat["id"], "Hello, this is Priya from support", role="human_operator")

    assert await _found(authed, "Priya") == [chat["id"]]
    assert await _found(authed, "operator took over") == [chat["id"]]
    await _check_index(database)


async def test_a_chat_is_not_found_from_another_workspace(
    authed: httpx.AsyncClient, chat: dict[str, Any], database: Database
) -> None:
    await send(authed, chat["id"], "I want a human")
    stranger = {"xi-api-key": await make_key(database, "other")}

    response = await authed.get(CONVERSATIONS, params={"q": "human"}, headers=stranger)

    assert response.json()["data"] == []
