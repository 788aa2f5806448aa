"""``GET /v1/convai/conversations`` through the official SDK: every filter, paging, summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.errors import UnprocessableEntityError

from convhub.conversations.schemas import AgentRef, DataCollectionIn, EvaluationResultIn, Feedback, TurnIn
from tests.elevenlabs_api.conftest import WORKSPACE, LiveServer
from tests.factories import BASE_TIME, make_conversation

SUPPORT = AgentRef(provider_agent_id="agent_support", name="Support Sam")
SALES = AgentRef(provider_agent_id="agent_sales", name="Sales Sue")
START = {label: BASE_TIME + timedelta(hours=hour) for hour, label in enumerate("abcd", start=1)}

pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated")  # inside the SDK


def _turns(topic: str, *tools: str) -> list[TurnIn]:
    calls = [{"request_id": f"r{i}", "tool_name": t, "params_as_json": "{}", "tool_has_been_called": True}
             for i, t in enumerate(tools)]
    return [
        TurnIn(role="agent", message="Hello, how can I help?", time_in_call_secs=0),
        TurnIn(role="user", message=f"I am calling about the {topic}.", time_in_call_secs=3),
        TurnIn(role="agent", message="Let me check.", time_in_call_secs=6, tool_calls=calls),
    ]


def _evals(**results: str) -> list[EvaluationResultIn]:
    return [EvaluationResultIn(criteria_id=k, result=v, rationale="") for k, v in results.items()]


def _data(**values: Any) -> list[DataCollectionIn]:
    return [DataCollectionIn(data_collection_id=k, value=v) for k, v in values.items()]


@dataclass
class Dataset:
    sdk: ElevenLabs
    labels: dict[str, str]  # the id the dialect shows (ElevenLabs' own for a, c, d; convhub's for b) → a, b, c, d
    agent_ids: dict[str, str]  # a, b, c, d → convhub's id of its agent

    def find(self, **params: Any) -> set[str]:
        """The labels of every conversation the SDK lists with ``params``."""
        page = self.sdk.conversational_ai.conversations.list(page_size=100, **params)
        assert not page.has_more
        return {self.labels[c.conversation_id] for c in page.conversations}


@pytest.fixture
def data(server: LiveServer, sdk: ElevenLabs, http: httpx.Client) -> Dataset:
    """Four conversations that differ in every filtered field, plus one of another workspace."""
    convs = {
        "a": make_conversation(
            agent=SUPPORT, started_at=START["a"], duration_secs=30, call_successful="success", rating=5,
            feedback=Feedback(likes=1, comment="Very helpful"), user_id="user-1",
            evaluation_results=_evals(resolved="success", polite="success"),
            data_collection=_data(intent="billing", amount=120, vip=True),
            turns=_turns("invoice", "lookup_invoice"),
        ),
        "b": make_conversation(  # from Retell: the dialect shows convhub's ids
            provider="retell", agent=SALES, started_at=START["b"], duration_secs=200, call_successful="failure",
            rating=2,
            user_id="user-2", evaluation_results=_evals(resolved="failure", polite="success"),
            data_collection=_data(intent="refund", amount=15), turns=_turns("refund", "issue_refund"),
        ),
        "c": make_conversation(
            agent=SUPPORT, started_at=START["c"], duration_secs=90, call_successful="unknown", rating=None,
            feedback=Feedback(comment=""), user_id=None, evaluation_results=_evals(resolved="unknown"),
            data_collection=[], turns=_turns("weather forecast"),
        ),
        "d": make_conversation(
            agent=SUPPORT, started_at=START["d"], duration_secs=400, call_successful="success", rating=4,
            feedback=Feedback(comment="ok"), user_id="user-1", evaluation_results=_evals(resolved="success"),
            data_collection=_data(intent="billing", amount=50), turns=_turns("invoice refund", "lookup_invoice",
                                                                            "issue_refund"),
        ),
    }
    ids = dict(zip(convs, server.ingest(WORKSPACE, list(convs.values())), strict=True))
    server.ingest("elsewhere", [make_conversation(agent=SUPPORT, started_at=START["a"], user_id="user-1")])
    shown = {label: ids[label] if label == "b" else conv.provider_conversation_id for label, conv in convs.items()}
    agent_ids = {label: http.get(f"/v1/conversations/{ids[label]}").json()["agent_id"] for label in convs}
    return Dataset(sdk, {shown[label]: label for label in convs}, agent_ids)


def _unix(label: str) -> int:
    return int(START[label].timestamp())


def test_time_duration_and_rating_filters(data: Dataset) -> None:
    assert data.find() == {"a", "b", "c", "d"}  # and nothing of the other workspace
    assert data.find(call_start_after_unix=_unix("b")) == {"b", "c", "d"}
    assert data.find(call_start_before_unix=_unix("b")) == {"a", "b"}
    assert data.find(call_start_after_unix=_unix("b"), call_start_before_unix=_unix("c") - 1) == {"b"}
    assert data.find(call_duration_min_secs=90) == {"b", "c", "d"}
    assert data.find(call_duration_max_secs=90) == {"a", "c"}
    assert data.find(call_duration_min_secs=91, call_duration_max_secs=399) == {"b"}
    assert data.find(rating_min=4) == {"a", "d"}
    assert data.find(rating_max=2) == {"b"}
    assert data.find(rating_min=3, rating_max=4) == {"d"}


def test_outcome_user_and_comment_filters(data: Dataset) -> None:
    assert data.find(call_successful="success") == {"a", "d"}
    assert data.find(call_successful="failure") == {"b"}
    assert data.find(call_successful="unknown") == {"c"}
    assert data.find(user_id="user-1") == {"a", "d"}
    assert data.find(user_id="user-3") == set()
    assert data.find(has_feedback_comment=True) == {"a", "d"}
    assert data.find(has_feedback_comment=False) == {"b", "c"}


def test_evaluation_filters(data: Dataset) -> None:
    assert data.find(evaluation_params="resolved:success") == {"a", "d"}
    assert data.find(evaluation_params=["resolved:success", "polite:success"]) == {"a"}
    assert data.find(evaluation_params=["resolved:failure"]) == {"b"}
    assert data.find(evaluation_params=["polite:failure"]) == set()


DATA_CASES: list[tuple[list[str], set[str]]] = [
    (["intent:eq:billing"], {"a", "d"}),
    (["intent:neq:billing"], {"b", "c"}),
    (["amount:gt:50"], {"a"}),
    (["amount:gte:50"], {"a", "d"}),
    (["amount:lt:50"], {"b"}),
    (["amount:lte:50"], {"b", "d"}),
    (["amount:eq:50"], {"d"}),
    (["amount:gt:1e2"], {"a"}),
    (["intent:in:refund|billing"], {"a", "b", "d"}),
    (["amount:in:15|120"], {"a", "b"}),
    (["intent:exists"], {"a", "b", "d"}),
    (["intent:missing"], {"c"}),
    (["intent:eq:"], {"c"}),
    (["intent:neq:"], {"a", "b", "d"}),
    (["vip:eq:true"], {"a"}),
    (["intent:eq:billing", "amount:lt:100"], {"d"}),
]


def test_data_collection_filters(data: Dataset) -> None:
    # One server for every case: starting one per case would dominate the suite's time.
    for params, expected in DATA_CASES:
        assert data.find(data_collection_params=params) == expected, params
    assert data.find(data_collection_params=["intent:eq:billing"], data_collection_filter="amount:lt:100") == {"d"}


def test_tool_search_and_agent_filters(data: Dataset) -> None:
    assert data.find(tool_names="issue_refund") == {"b", "d"}
    assert data.find(tool_names=["lookup_invoice", "issue_refund"]) == {"a", "b", "d"}
    assert data.find(tool_names=["send_sms"]) == set()
    assert data.find(search="refund") == {"b", "d"}
    assert data.find(search="weather") == {"c"}
    assert data.find(search="no such words anywhere") == set()
    assert data.find(agent_id="agent_sales") == {"b"}  # the provider's agent id (Retell's)
    assert data.find(agent_id=data.agent_ids["b"]) == {"b"}  # convhub's agent id
    support_id = data.agent_ids["a"]
    assert support_id.startswith("agt_")
    assert data.find(agent_id=support_id) == {"a", "c", "d"}  # convhub's agent id
    assert data.find(agent_id="agent_support") == {"a", "c", "d"}  # ElevenLabs' agent id
    assert data.find(agent_id="agent_nobody") == set()
    combined = data.find(agent_id="agent_support", call_successful="success", tool_names=["issue_refund"])
    assert combined == {"d"}


def test_summaries_fields_and_order(data: Dataset) -> None:
    conversations = data.sdk.conversational_ai.conversations
    excluded = conversations.list().conversations
    assert [data.labels[c.conversation_id] for c in excluded] == ["d", "c", "b", "a"]  # newest first
    assert all(c.transcript_summary is None for c in excluded)
    included = conversations.list(summary_mode="include").conversations
    assert {c.transcript_summary for c in included} == {"The caller asked about an invoice."}
    # The ids the caller knows: ElevenLabs' own for an ElevenLabs conversation, convhub's for a Retell one.
    assert {data.labels[c.conversation_id]: c.agent_id for c in included} == {
        "a": "agent_support", "b": data.agent_ids["b"], "c": "agent_support", "d": "agent_support"}
    assert data.agent_ids["b"].startswith("agt_")
    first = next(c for c in included if data.labels[c.conversation_id] == "b")
    assert first.conversation_id.startswith("conv_") and first.conversation_id in data.labels
    assert first.agent_name == "Sales Sue"
    assert first.start_time_unix_secs == _unix("b")
    assert first.call_duration_secs == 200
    assert first.message_count == 3
    assert (first.status, first.call_successful, first.direction, first.rating) == ("done", "failure", "inbound", 2)
    assert first.call_summary_title == "Invoice question"
    assert first.branch_id is None
    ascending = conversations.list(sort_direction="asc").conversations
    assert [data.labels[c.conversation_id] for c in ascending] == ["a", "b", "c", "d"]


def test_cursor_walks_every_page_once(server: LiveServer, sdk: ElevenLabs) -> None:
    # ties on start time: the id breaks them; half from ElevenLabs (shown by their ids), half from Retell
    convs = [make_conversation(started_at=BASE_TIME + timedelta(minutes=i % 4),
                               provider="elevenlabs" if i % 2 else "retell") for i in range(8)]
    stored = server.ingest(WORKSPACE, convs)
    ids = [conv.provider_conversation_id if conv.provider == "elevenlabs" else convhub_id
           for conv, convhub_id in zip(convs, stored, strict=True)]
    seen: list[str] = []
    pages, cursor = 0, None
    while True:
        page = sdk.conversational_ai.conversations.list(page_size=3, cursor=cursor)
        pages += 1
        seen.extend(c.conversation_id for c in page.conversations)
        if not page.has_more:
            assert page.next_cursor is None
            break
        assert page.next_cursor
        cursor = page.next_cursor
    assert pages == 3
    assert len(seen) == len(set(seen)) == 8
    assert set(seen) == set(ids)
    by_id = {c.conversation_id: c for c in sdk.conversational_ai.conversations.list(page_size=100).conversations}
    starts = [by_id[i].start_time_unix_secs for i in seen]
    assert starts == sorted(starts, reverse=True)


def test_bad_filters_raise_the_sdks_unprocessable_error(data: Dataset) -> None:
    conversations = data.sdk.conversational_ai.conversations
    with pytest.raises(UnprocessableEntityError) as bad_enum:
        conversations.list(call_successful="maybe")
    assert bad_enum.value.body["detail"][0]["loc"] == ["query", "call_successful"]
    with pytest.raises(UnprocessableEntityError) as bad_op:
        conversations.list(data_collection_params=["intent:eq:billing", "amount:between:1"])
    issue = bad_op.value.body["detail"][0]
    assert issue["loc"] == ["query", "data_collection_params"]
    assert issue["type"] == "value_error"
    assert "between" in issue["msg"]
    with pytest.raises(UnprocessableEntityError):
        conversations.list(page_size=101)
    with pytest.raises(UnprocessableEntityError) as bad_cursor:
        conversations.list(cursor="not-a-cursor")
    assert bad_cursor.value.body["detail"][0]["loc"] == ["query", "cursor"]
