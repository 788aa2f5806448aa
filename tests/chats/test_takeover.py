"""Human takeover: an operator silences the agent, answers as ``human_operator``, and hands back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from convhub.db import Database
from convhub.models import ApiKey
from tests.chats.helpers import CONVERSATIONS, ScriptedBackend, messages, send, use_backend
from tests.conftest import make_key


async def _key_id(database: Database, secret: str) -> str:
    async with database.session() as session:
        return (await session.execute(select(ApiKey.id).where(ApiKey.prefix == secret[:12]))).scalar_one()


async def test_takeover_silences_the_agent_until_release(
    authed: httpx.AsyncClient, chat: dict[str, Any], database: Database, api_key: str
) -> None:
    await send(authed, chat["id"], "Hi")

    taken = await authed.post(f"{CONVERSATIONS}/{chat['id']}/takeover")
    assert taken.status_code == 200, taken.text
    assert taken.json()["taken_over_by"] == await _key_id(database, api_key)
    assert taken.json()["taken_over_at"] is not None

    waiting = await send(authed, chat["id"], "How long do refunds take?")
    answered = await send(authed, chat["id"], "Let me check that for you.", role="human_operator")
    assert waiting["reply"] is None and answered["reply"] is None
    assert answered["message"]["role"] == "human_operator"

    released = await authed.post(f"{CONVERSATIONS}/{chat['id']}/release")
    assert released.status_code == 200 and released.json()["taken_over_by"] is None
    back = await send(authed, chat["id"], "How long do refunds take?")
    assert back["reply"] is not None and "five working days" in back["reply"]["content"]

    transcript = [(m["role"], m["content"]) for m in await messages(authed, chat["id"])]
    assert transcript[2:7] == [
        ("system", "An operator took over the conversation."),
        ("user", "How long do refunds take?"),
        ("human_operator", "Let me check that for you."),
        ("system", "The operator handed the conversation back to the agent."),
        ("user", "How long do refunds take?"),
    ]
    assert transcript[7][0] == "agent"


async def test_the_agent_sees_what_the_operator_said(
    authed: httpx.AsyncClient, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/takeover")
    await send(authed, chat["id"], "Your refund was approved today.", role="human_operator")
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/release")
    backend = ScriptedBackend()
    use_backend(monkeypatch, backend)

    await send(authed, chat["id"], "Thanks! Anything else?")

    said = [(m.role, m.content) for m in backend.seen[0] if m.role != "system"]
    assert said == [("assistant", "Your refund was approved today."), ("user", "Thanks! Anything else?")]


async def test_only_an_operator_holding_the_chat_sends_as_human_operator(
    authed: httpx.AsyncClient, chat: dict[str, Any]
) -> None:
    response = await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages",
                                 json={"content": "Operator here", "role": "human_operator"})

    assert response.status_code == 409
    assert "/takeover" in response.json()["detail"]["message"]
    assert await messages(authed, chat["id"]) == []


async def test_takeover_rules(authed: httpx.AsyncClient, chat: dict[str, Any], database: Database) -> None:
    other_operator = {"xi-api-key": await make_key(database, "default", "conversations:read,conversations:write")}
    reader = {"xi-api-key": await make_key(database, "default", "conversations:read")}
    url = f"{CONVERSATIONS}/{chat['id']}"

    assert (await authed.post(f"{url}/release")).status_code == 409  # nothing to release
    assert (await authed.post(f"{url}/takeover", headers=reader)).status_code == 403
    assert (await authed.post(f"{url}/takeover")).status_code == 200
    again = await authed.post(f"{url}/takeover")  # the same operator: nothing changes
    assert again.status_code == 200
    assert [m["role"] for m in await messages(authed, chat["id"])] == ["system"]
    held = await authed.post(f"{url}/takeover", headers=other_operator)
    assert held.status_code == 409 and "already held" in held.json()["detail"]["message"]
    assert (await authed.post(f"{url}/release", headers=other_operator)).status_code == 200

    assert (await authed.post(f"{url}/end")).status_code == 200
    ended = await authed.post(f"{url}/takeover")
    assert ended.status_code == 409 and "has ended" in ended.json()["detail"]["message"]
