"""chats/repository.py: the chat's statements stay inside the repository's workspace."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import NoResultFound

from convhub.chats.repository import ChatRepository
from convhub.db import Database
from convhub.kit.time import utcnow
from convhub.models import Conversation
from tests.chats.helpers import CONVERSATIONS, send


async def test_another_workspace_reads_nothing_of_a_chat(
    authed: httpx.AsyncClient, chat: dict[str, Any], database: Database
) -> None:
    await send(authed, chat["id"], "How long do refunds take?")

    async with database.session() as session:
        owner = (await session.execute(select(Conversation.workspace_id).where(Conversation.id == chat["id"]))).scalar()
        mine = ChatRepository(session, owner)
        theirs = ChatRepository(session, "ws_someone_else")
        assert (await mine.get_with_agent(chat["id"])) is not None
        assert len((await mine.history(chat["id"])).turns) == 2
        assert await theirs.get_with_agent(chat["id"]) is None
        assert (await theirs.history(chat["id"])).turns == []


async def test_another_workspace_cannot_append_to_a_chat(
    authed: httpx.AsyncClient, chat: dict[str, Any], database: Database
) -> None:
    row = {
        "conversation_id": chat["id"], "workspace_id": "ws_someone_else", "role": "agent", "message": "injected",
        "time_in_call_secs": 1.0, "tool_calls": [], "tool_results": [], "feedback": None, "feedback_comment": None,
        "rating": None, "interrupted": False, "source_medium": "text", "llm_usage": None, "extra": {},
        "created_at": utcnow(),
    }
    with pytest.raises(NoResultFound):
        async with database.session() as session:
            await ChatRepository(session, "ws_someone_else").append(chat["id"], [row], at=utcnow(), duration_secs=1)

    listed = (await authed.get(f"{CONVERSATIONS}/{chat['id']}/messages")).json()
    assert listed["data"] == []
    assert (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).json()["message_count"] == 0
