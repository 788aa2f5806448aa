"""Archiving on the native API: any finished conversation (a chat, or one a provider ran) can be archived;
one still under way cannot, and an archived chat takes no more messages."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from convhub.db import Database
from convhub.models import AuditLog
from tests.chats.helpers import CONVERSATIONS, make_agent, start_chat
from tests.conftest import ingest_into
from tests.factories import make_conversation


async def test_only_a_finished_conversation_is_archived_and_an_archived_one_takes_no_messages(
    authed: httpx.AsyncClient, database: Database
) -> None:
    chat = await start_chat(authed, await make_agent(authed))
    too_soon = await authed.post(f"{CONVERSATIONS}/{chat['id']}/archive")
    assert too_soon.status_code == 409 and "End it first" in too_soon.json()["detail"]["message"]

    await authed.post(f"{CONVERSATIONS}/{chat['id']}/end")
    archived = await authed.post(f"{CONVERSATIONS}/{chat['id']}/archive")
    twice = await authed.post(f"{CONVERSATIONS}/{chat['id']}/archive")

    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert twice.status_code == 200 and twice.json()["archived"] is True
    # The answer is the conversation as a chat's own endpoints show it.
    assert {"last_activity_at", "taken_over_by", "taken_over_at"} <= set(archived.json())
    listed = (await authed.get(CONVERSATIONS, params={"archived": "true"})).json()["data"]
    assert [c["id"] for c in listed] == [chat["id"]]
    refused = await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages", json={"content": "hello?"})
    assert refused.status_code == 409
    async with database.session() as session:
        actions = (await session.execute(select(AuditLog.action).where(AuditLog.target_id == chat["id"]))).scalars()
        assert list(actions).count("conversation.archived") == 1


async def test_a_finished_provider_conversation_can_be_archived_but_not_ended_or_written_to(
    authed: httpx.AsyncClient, database: Database
) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation()])

    assert (await authed.post(f"{CONVERSATIONS}/{conv_id}/archive")).json()["archived"] is True
    ended = await authed.post(f"{CONVERSATIONS}/{conv_id}/end")
    sent = await authed.post(f"{CONVERSATIONS}/{conv_id}/messages", json={"content": "hi"})
    assert ended.status_code == 409 and "elevenlabs" in ended.json()["detail"]["message"]
    assert sent.status_code == 409


async def test_archiving_an_unknown_conversation_is_a_404(authed: httpx.AsyncClient) -> None:
    response = await authed.post(f"{CONVERSATIONS}/conv_nope/archive")

    assert response.status_code == 404


async def test_openapi_documents_archive_and_its_errors(client: httpx.AsyncClient) -> None:
    operation: dict[str, Any] = (await client.get("/openapi.json")).json()["paths"][
        f"{CONVERSATIONS}/{{id}}/archive"]["post"]

    assert set(operation["responses"]) == {"200", "401", "403", "404", "409", "422"}
    assert operation["tags"] == ["conversations"] and operation["summary"]
