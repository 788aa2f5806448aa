"""Reading a chat back page by page, and rating the agent's replies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.chats.helpers import CONVERSATIONS, ScriptedBackend, messages, send, start_chat, use_backend


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


async def test_an_agent_reply_is_rated_and_rated_again(authed: httpx.AsyncClient, chat: dict[str, Any]) -> None:
    reply = (await send(authed, chat["id"], "How long do refunds take?"))["reply"]
    url = f"{CONVERSATIONS}/{chat['id']}/messages/{reply['id']}/rating"

    first = await authed.post(url, json={"rating": 5, "feedback": "This was a very clear and helpful answer."})
    second = await authed.post(url, json={"rating": 3})

    assert first.status_code == 200, first.text
    assert (first.json()["rating"], first.json()["feedback_comment"]) == (
        5, "This was a very clear and helpful answer.")
    assert (second.json()["rating"], second.json()["feedback_comment"]) == (3, None)
    stored = (await messages(authed, chat["id"]))[1]
    assert (stored["id"], stored["rating"]) == (reply["id"], 3)


async def test_rating_rules(authed: httpx.AsyncClient, chat: dict[str, Any], agent_id: str) -> None:
    result = await send(authed, chat["id"], "How long do refunds take?")
    other = await start_chat(authed, agent_id)
    elsewhere = (await send(authed, other["id"], "Shipping to Germany?"))["reply"]["id"]
    base = f"{CONVERSATIONS}/{chat['id']}/messages"
    reply_id = result["reply"]["id"]

    user_message = await authed.post(f"{base}/{result['message']['id']}/rating", json={"rating": 4})
    assert user_message.status_code == 422
    assert "only the agent's replies" in user_message.json()["detail"][0]["msg"]
    for body in ({"rating": 0}, {"rating": 6}, {}, {"rating": 4, "like": True}):
        assert (await authed.post(f"{base}/{reply_id}/rating", json=body)).status_code == 422, body
    assert (await authed.post(f"{base}/999999/rating", json={"rating": 4})).status_code == 404
    assert (await authed.post(f"{base}/{elsewhere}/rating", json={"rating": 4})).status_code == 404
    # Feedback after the end is still welcome.
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/end")
    assert (await authed.post(f"{base}/{reply_id}/rating", json={"rating": 4})).status_code == 200
