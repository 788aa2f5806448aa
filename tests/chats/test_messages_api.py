"""Reading a chat back page by page, the ids of its messages, and rating the agent's replies by them."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from convhub.db import Database
from convhub.models import Turn
from tests.chats.helpers import (
    CONVERSATIONS,
    ScriptedBackend,
    key_for,
    messages,
    send,
    start_chat,
    stream,
    use_backend,
)
from tests.conftest import make_key


@pytest.fixture
async def eight(authed: httpx.AsyncClient, chat: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """The chat, with four exchanges: messages 0 to 7."""
    use_backend(monkeypatch, ScriptedBackend())
    for n in range(4):
        await send(authed, chat["id"], f"question {n}")
    return str(chat["id"])


async def _pages(client: httpx.AsyncClient, conversation_id: str, **params: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor = None
    for _ in range(20):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{CONVERSATIONS}/{conversation_id}/messages", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([m["index"] for m in body["data"]])
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return pages
        cursor = body["next_cursor"]
    raise AssertionError("paging did not end")


async def test_messages_page_forwards_and_backwards(authed: httpx.AsyncClient, eight: str) -> None:
    assert await _pages(authed, eight, limit=3) == [[0, 1, 2], [3, 4, 5], [6, 7]]
    assert await _pages(authed, eight, limit=3, order="desc") == [[7, 6, 5], [4, 3, 2], [1, 0]]
    assert await _pages(authed, eight) == [list(range(8))]


async def test_messages_between_two_indexes(authed: httpx.AsyncClient, eight: str) -> None:
    assert await _pages(authed, eight, after=2, before=6) == [[3, 4, 5]]
    assert await _pages(authed, eight, after=2, before=6, limit=2) == [[3, 4], [5]]
    assert await _pages(authed, eight, before=4, limit=2, order="desc") == [[3, 2], [1, 0]]
    assert await _pages(authed, eight, after=7) == [[]]


async def test_a_cursor_only_continues_the_listing_it_came_from(
    authed: httpx.AsyncClient, eight: str, agent_id: str
) -> None:
    url = f"{CONVERSATIONS}/{eight}/messages"
    cursor = (await authed.get(url, params={"limit": 2})).json()["next_cursor"]
    other = await start_chat(authed, agent_id)

    reversed_ = await authed.get(url, params={"cursor": cursor, "order": "desc"})
    elsewhere = await authed.get(f"{CONVERSATIONS}/{other['id']}/messages", params={"cursor": cursor})
    forged = await authed.get(url, params={"cursor": cursor[:-2] + "xx"})
    misspelt = await authed.get(url, params={"page_size": 2})

    assert [r.status_code for r in (reversed_, elsewhere, forged, misspelt)] == [422, 422, 422, 422]


MESSAGES = "/v1/messages"
MSG_ID = re.compile(r"^msg_[0-9a-z]{26}$")


async def test_send_stream_and_list_give_every_message_an_id_of_its_own(
    authed: httpx.AsyncClient, chat: dict[str, Any], agent_id: str
) -> None:
    sent = await send(authed, chat["id"], "How long do refunds take?")
    events = await stream(authed, chat["id"], "And shipping to Germany?")
    other = await start_chat(authed, agent_id)
    elsewhere = await send(authed, other["id"], "How long do refunds take?")

    streamed, done = events[-2].json(), events[-1].json()
    listed = await messages(authed, chat["id"])
    ids = [m["id"] for m in listed]
    assert all(MSG_ID.match(i) for i in ids), ids
    assert ids == [sent["message"]["id"], sent["reply"]["id"], done["message_id"], streamed["id"]]
    assert done["reply_id"] == streamed["id"]
    assert ids == sorted(ids)  # ULIDs: they sort as they were stored
    assert len({*ids, elsewhere["message"]["id"], elsewhere["reply"]["id"]}) == 6  # global, not per conversation
    detail = (await authed.get(f"{CONVERSATIONS}/{chat['id']}")).json()
    assert [t["id"] for t in detail["transcript"]] == ids


async def test_an_agent_reply_is_rated_by_its_id_and_rated_again(
    authed: httpx.AsyncClient, chat: dict[str, Any]
) -> None:
    reply = (await send(authed, chat["id"], "How long do refunds take?"))["reply"]
    url = f"{MESSAGES}/{reply['id']}/rating"

    first = await authed.post(url, json={"rating": 5, "feedback": "This was a very clear and helpful answer."})
    second = await authed.post(url, json={"rating": 3})

    assert first.status_code == 200, first.text
    assert (first.json()["id"], first.json()["role"], first.json()["conversation_id"]) == (reply["id"], "agent",
                                                                                           chat["id"])
    assert (first.json()["rating"], first.json()["feedback_comment"]) == (
        5, "This was a very clear and helpful answer.")
    assert (second.json()["rating"], second.json()["feedback_comment"]) == (3, None)
    stored = (await messages(authed, chat["id"]))[1]
    assert (stored["id"], stored["rating"], stored["feedback_comment"]) == (reply["id"], 3, None)


async def test_the_nested_path_rates_the_same_message(
    authed: httpx.AsyncClient, chat: dict[str, Any], agent_id: str, database: Database
) -> None:
    reply = (await send(authed, chat["id"], "How long do refunds take?"))["reply"]
    other = await start_chat(authed, agent_id)
    nested = f"{CONVERSATIONS}/{chat['id']}/messages"

    rated = await authed.post(f"{nested}/{reply['id']}/rating", json={"rating": 4, "feedback": "Fine"})
    # The id of a message of another conversation does not name one of this conversation's.
    wrong_conversation = await authed.post(f"{CONVERSATIONS}/{other['id']}/messages/{reply['id']}/rating",
                                           json={"rating": 4})
    # The integer that named the message before messages had ids of their own still does, here.
    async with database.session() as session:
        key = (await session.execute(select(Turn.id).where(Turn.public_id == reply["id"]))).scalar_one()
    by_old_id = await authed.post(f"{nested}/{key}/rating", json={"rating": 2})
    old_id_elsewhere = await authed.post(f"{CONVERSATIONS}/{other['id']}/messages/{key}/rating", json={"rating": 2})
    flat_takes_no_integer = await authed.post(f"{MESSAGES}/{key}/rating", json={"rating": 2})

    assert rated.status_code == 200, rated.text
    assert (rated.json()["id"], rated.json()["rating"], rated.json()["feedback_comment"]) == (reply["id"], 4, "Fine")
    assert wrong_conversation.status_code == 404
    assert by_old_id.status_code == 200 and (by_old_id.json()["id"], by_old_id.json()["rating"]) == (reply["id"], 2)
    assert old_id_elsewhere.status_code == 404 and flat_takes_no_integer.status_code == 404


async def test_rating_rules(authed: httpx.AsyncClient, chat: dict[str, Any]) -> None:
    result = await send(authed, chat["id"], "How long do refunds take?")
    reply_id = result["reply"]["id"]

    user_message = await authed.post(f"{MESSAGES}/{result['message']['id']}/rating", json={"rating": 4})
    assert user_message.status_code == 422
    [issue] = user_message.json()["detail"]
    assert "only the agent's replies can be rated" in issue["msg"] and issue["loc"] == ["path", "message_id"]
    for body in ({"rating": 0}, {"rating": 6}, {"rating": "five"}, {}):
        refused = await authed.post(f"{MESSAGES}/{reply_id}/rating", json=body)
        assert refused.status_code == 422, body
        assert [i["loc"] for i in refused.json()["detail"]] == [["body", "rating"]], refused.text
    extra = await authed.post(f"{MESSAGES}/{reply_id}/rating", json={"rating": 4, "like": True})
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "like"]
    unknown = await authed.post(f"{MESSAGES}/msg_01hzzzzzzzzzzzzzzzzzzzzzzz/rating", json={"rating": 4})
    assert unknown.status_code == 404
    assert unknown.json()["detail"]["message"] == "Message 'msg_01hzzzzzzzzzzzzzzzzzzzzzzz' not found."
    for nonsense in ("999999", "msg_", "x" * 64):
        assert (await authed.post(f"{MESSAGES}/{nonsense}/rating", json={"rating": 4})).status_code == 404, nonsense
    assert (await authed.post(f"{MESSAGES}/{'x' * 65}/rating", json={"rating": 4})).status_code == 422
    # Feedback after the end is still welcome.
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/end")
    assert (await authed.post(f"{MESSAGES}/{reply_id}/rating", json={"rating": 4})).status_code == 200
    # What was refused changed nothing.
    assert [m["rating"] for m in await messages(authed, chat["id"])] == [None, 4]


async def test_another_workspaces_message_is_not_found(
    authed: httpx.AsyncClient, chat: dict[str, Any], app: Any, database: Database
) -> None:
    reply = (await send(authed, chat["id"], "How long do refunds take?"))["reply"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://convhub.test",
                                 headers={"xi-api-key": await make_key(database, "other")}) as stranger:
        theirs = await stranger.post(f"{MESSAGES}/{reply['id']}/rating", json={"rating": 1})
        nested = await stranger.post(f"{CONVERSATIONS}/{chat['id']}/messages/{reply['id']}/rating",
                                     json={"rating": 1})

    assert theirs.status_code == 404 and nested.status_code == 404
    assert theirs.json()["detail"]["message"] == f"Message {reply['id']!r} not found."
    assert (await messages(authed, chat["id"]))[1]["rating"] is None


async def test_rating_needs_the_write_scope(authed: httpx.AsyncClient, chat: dict[str, Any], app: Any,
                                            database: Database) -> None:
    reply = (await send(authed, chat["id"], "How long do refunds take?"))["reply"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://convhub.test",
                                 headers={"xi-api-key": await key_for(database, "conversations:read")}) as reader:
        refused = await reader.post(f"{MESSAGES}/{reply['id']}/rating", json={"rating": 5})

    assert refused.status_code == 403
    assert (await messages(authed, chat["id"]))[1]["rating"] is None
