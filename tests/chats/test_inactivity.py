"""The inactivity job ends the chats nobody has written to for the configured time, and nothing else."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from convhub.auth.service import ensure_workspace
from convhub.chats.repository import ChatLookup, ChatRepository
from convhub.chats.service import end_inactive
from convhub.chats.tasks import end_idle_chats
from convhub.config import Settings
from convhub.db import Database
from convhub.kit.time import utcnow
from convhub.models import Conversation
from tests.chats.helpers import CONVERSATIONS, drain, make_agent, send, start_chat
from tests.conftest import LiveServer, ingest_into, make_key
from tests.factories import make_conversation


async def _idle_for(database: Database, conversation_id: str, minutes: float) -> datetime:
    """Move the chat's clock back as if its last message was ``minutes`` ago (started 5 minutes before)."""
    last = utcnow() - timedelta(minutes=minutes)
    async with database.session() as session:
        await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(
            last_activity_at=last, started_at=last - timedelta(minutes=5)))
    return last


async def _get(client: httpx.AsyncClient, conversation_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"{CONVERSATIONS}/{conversation_id}")).json()
    return body


async def test_only_chats_idle_for_the_limit_are_ended(
    authed: httpx.AsyncClient, database: Database, agent_id: str, app: Any
) -> None:
    stale = await start_chat(authed, agent_id)
    await send(authed, stale["id"], "How long do refunds take?")
    fresh = await start_chat(authed, agent_id)
    finished = await start_chat(authed, agent_id)
    await authed.post(f"{CONVERSATIONS}/{finished['id']}/end")
    [call] = await ingest_into(database, "default", [make_conversation(status="in-progress",
                                                                       started_at=utcnow() - timedelta(hours=2))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://convhub.test",
                                 headers={"xi-api-key": await make_key(database, "other")}) as other:
        theirs = await start_chat(other, await make_agent(other))
    last = await _idle_for(database, stale["id"], 31)
    await _idle_for(database, fresh["id"], 29)
    await _idle_for(database, finished["id"], 90)
    await _idle_for(database, theirs["id"], 45)

    async with database.session() as session:
        ended = await end_inactive(session, utcnow(), 30)

    assert sorted(c.id for c in ended) == sorted([stale["id"], theirs["id"]])
    after = await _get(authed, stale["id"])
    assert (after["status"], after["termination_reason"]) == ("done", "inactivity")
    assert datetime.fromisoformat(after["ended_at"]) == last  # it ended when it fell silent
    assert after["duration_secs"] == 5 * 60  # the time it was in use, not the idle half hour after
    assert (await _get(authed, fresh["id"]))["status"] == "in-progress"
    assert (await _get(authed, finished["id"]))["termination_reason"] == "ended"
    assert (await _get(authed, call))["status"] == "in-progress"  # a provider's call is the provider's to end
    refused = await authed.post(f"{CONVERSATIONS}/{stale['id']}/messages", json={"content": "Still there?"})
    assert refused.status_code == 409


async def test_a_chat_that_moves_after_it_was_found_idle_is_left_alone(
    authed: httpx.AsyncClient, database: Database, chat: dict[str, Any]
) -> None:
    await _idle_for(database, chat["id"], 40)
    async with database.session() as session:
        [found] = await ChatLookup(session).idle(utcnow() - timedelta(minutes=30))
    await send(authed, chat["id"], "Sorry, I was away. How long do refunds take?")

    async with database.session() as session:
        workspace = await ensure_workspace(session, "default")
        ended = await ChatRepository(session, workspace.id).end_if_idle(found, status="done")

    assert ended is False
    assert (await _get(authed, chat["id"]))["status"] == "in-progress"


async def test_a_pass_announces_each_chat_it_ended(
    authed: httpx.AsyncClient, database: Database, chat: dict[str, Any], app: Any
) -> None:
    await _idle_for(database, chat["id"], 31)
    async with database.session() as session:
        workspace = await ensure_workspace(session, "default")
    subscription = app.state.events.subscribe(workspace.id)

    ended = await end_idle_chats(database, app.state, 30)
    again = await end_idle_chats(database, app.state, 30)

    assert [c.id for c in ended] == [chat["id"]] and again == []
    [event] = await drain(subscription)
    await subscription.aclose()
    assert (event.type, event.conversation_id) == ("conversation.status", chat["id"])
    assert event.data == {"status": "done", "termination_reason": "inactivity"}


@pytest.mark.parametrize("scheduler", [True, False])
async def test_convhub_serve_runs_the_job_only_with_the_scheduler_on(
    authed: httpx.AsyncClient, database: Database, chat: dict[str, Any], settings: Settings, scheduler: bool
) -> None:
    await _idle_for(database, chat["id"], 11)
    server = LiveServer(settings.model_copy(update={"scheduler": scheduler, "chat_inactivity_minutes": 10}))
    server.start()  # the first pass runs at start-up
    try:
        status = "in-progress"
        for _ in range(100 if scheduler else 10):
            status = (await _get(authed, chat["id"]))["status"]
            if status == "done":
                break
            await asyncio.sleep(0.05)
    finally:
        server.stop()

    assert status == ("done" if scheduler else "in-progress")
