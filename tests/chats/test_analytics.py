"""Per-conversation analytics: the figures of a conversation whose every number is known."""

from __future__ import annotations

from typing import Any

import httpx

from convhub.conversations.schemas import Feedback, TurnIn
from convhub.db import Database
from tests.chats.helpers import CONVERSATIONS, send
from tests.conftest import ingest_into
from tests.factories import make_conversation


def _turn(role: str, message: str, at: float, **extra: Any) -> TurnIn:
    return TurnIn(role=role, message=message, time_in_call_secs=at, **extra)


async def test_the_figures_of_a_known_conversation(authed: httpx.AsyncClient, database: Database) -> None:
    [conv_id] = await ingest_into(database, "default", [make_conversation(
        duration_secs=150,
        rating=4,
        feedback=Feedback(likes=2, dislikes=1, comment="Quick help"),
        turns=[
            _turn("agent", "Hello, how can I help?", 0),  # 22 characters
            _turn("user", "Where is my order?", 4),  # 18
            _turn("user", "It was due Monday.", 6),  # 18: the wait runs from the first of the two
            _turn("agent", "Let me check.", 10, rating=4),  # 13, answered after 6 s
            _turn("system", "Transferring to a person", 11),  # a notice: counted, but not a message length
            _turn("human_operator", "It ships today.", 20),  # 15
            _turn("user", "Thanks", 25),  # 6
            _turn("agent", "You're welcome", 27, rating=2, interrupted=True),  # 14, answered after 2 s
        ],
    )])

    response = await authed.get(f"{CONVERSATIONS}/{conv_id}/analytics")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["conversation_id"] == conv_id
    assert body["message_statistics"] == {
        "total_messages": 8,
        "by_role": {"agent": 3, "human_operator": 1, "system": 1, "user": 3},
        "average_message_length": 15.1,  # 106 characters in 7 messages
        "average_length_by_role": {"agent": 16.3, "human_operator": 15.0, "user": 14.0},
    }
    flow = body["conversation_flow"]
    assert (flow["status"], flow["duration_minutes"]) == ("done", 2.5)
    assert (flow["first_response_time_secs"], flow["average_response_time_secs"]) == (6.0, 4.0)
    assert flow["turns"] == 5  # agent | user user | agent operator | user | agent
    assert body["quality_metrics"] == {
        "satisfaction_rating": 4, "average_message_rating": 3.0, "rated_messages": 2, "likes": 2, "dislikes": 1,
        "feedback_comment": "Quick help", "interrupted_replies": 1,
    }


async def test_a_chat_reports_its_own_exchange(authed: httpx.AsyncClient, chat: dict[str, Any]) -> None:
    first = await send(authed, chat["id"], "How long do refunds take?")
    await send(authed, chat["id"], "And shipping to Germany?")
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/messages/{first['reply']['id']}/rating", json={"rating": 5})
    await authed.post(f"{CONVERSATIONS}/{chat['id']}/end", json={"rating": 4, "feedback": "Fine."})

    body = (await authed.get(f"{CONVERSATIONS}/{chat['id']}/analytics")).json()

    assert body["message_statistics"]["total_messages"] == 4
    assert body["message_statistics"]["by_role"] == {"agent": 2, "user": 2}
    flow = body["conversation_flow"]
    assert flow["turns"] == 4 and flow["status"] == "done"
    assert 0 <= flow["first_response_time_secs"] < 5
    assert body["quality_metrics"]["satisfaction_rating"] == 4
    assert body["quality_metrics"]["average_message_rating"] == 5.0
    assert body["quality_metrics"]["feedback_comment"] == "Fine."


async def test_an_empty_chat_has_no_averages(authed: httpx.AsyncClient, chat: dict[str, Any]) -> None:
    body = (await authed.get(f"{CONVERSATIONS}/{chat['id']}/analytics")).json()

    assert body["message_statistics"] == {"total_messages": 0, "by_role": {}, "average_message_length": None,
                                          "average_length_by_role": {}}
    assert body["conversation_flow"]["first_response_time_secs"] is None
    assert body["conversation_flow"]["turns"] == 0
    assert body["quality_metrics"]["average_message_rating"] is None


async def test_analytics_of_an_unknown_conversation_is_404(authed: httpx.AsyncClient) -> None:
    assert (await authed.get(f"{CONVERSATIONS}/conv_nope/analytics")).status_code == 404
