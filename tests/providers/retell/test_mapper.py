"""Retell call object → ConversationIn, on recorded-style payloads and edge cases."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from convhub.conversations.schemas import CallSuccessful, Direction, Role, Status
from convhub.providers.base import MappingError
from convhub.providers.retell.mapper import conversation_from_retell, is_final

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def transferred() -> dict[str, Any]:
    return payload("phone_inbound_transferred")


# ------------------------------------------------------------------ whole payloads


def test_inbound_phone_call_maps_every_field() -> None:
    conv = conversation_from_retell(transferred())

    assert conv.provider == "retell"
    assert conv.provider_conversation_id == "call_4b1e9c2d7a8f40e6b3d5c1a2f9e8d7c6"
    assert conv.agent.provider_agent_id == "agent_7f3a9c1e5b2d4f6a8c0e2b4d6f"
    assert conv.agent.name == "Northwind returns line"
    assert (conv.channel, conv.direction) == ("phone", Direction.inbound)
    assert (conv.status, conv.provider_status) == (Status.done, "ended")
    assert conv.customer_number == "+14155550142"  # inbound: the caller, normalised from "+1 (415) 555-0142"
    assert conv.agent_number == "+12125550100"
    assert conv.started_at == datetime(2025, 6, 4, 13, 0, 0, 250_000, tzinfo=UTC)
    assert conv.ended_at == datetime(2025, 6, 4, 13, 3, 7, 900_000, tzinfo=UTC)
    assert conv.duration_secs == 188  # duration_ms 187 650, rounded
    assert conv.call_successful is CallSuccessful.success
    assert conv.summary is not None and conv.summary.startswith("The customer asked about a late order")
    assert conv.sentiment == "neutral"
    assert conv.termination_reason == "call_transfer"
    assert conv.cost_cents == pytest.approx(26.8965)
    assert conv.cost_raw == {"amount": 26.8965, "unit": "usd_cents"}
    assert conv.user_id == "cust_00412"
    assert conv.metadata == {"user_id": "cust_00412", "crm_ticket": "TK-551203"}
    assert {d.data_collection_id: d.value for d in conv.data_collection} == {
        "order_id": "NW-482913", "wants_callback": False, "order_value": 84.5,
    }
    assert conv.evaluation_results == []
    assert conv.has_audio and conv.has_user_audio and conv.has_response_audio
    assert conv.transfer_to == "+12125550188"  # the SIP URI's user part
    assert conv.source_updated_at is None
    assert conv.raw == transferred()


def test_turns_carry_time_tool_calls_and_named_results() -> None:
    turns = conversation_from_retell(transferred()).turns

    assert [t.role for t in turns] == [
        Role.agent, Role.user, Role.agent, Role.agent, Role.tool, Role.agent, Role.user, Role.user,
        Role.agent, Role.tool, Role.tool, Role.human_operator,
    ]
    assert [t.time_in_call_secs for t in turns] == [0.42, 6.1, 11.2, 11.2, 11.2, 15.8, 15.8, 22.4, 22.4, 22.4,
                                                    22.4, 31.0]
    assert turns[0].message == "Thanks for calling Northwind, this is Maya. How can I help?"
    assert turns[0].extra == {"metadata": {"response_id": 0}}
    assert turns[1].source_medium == "audio" and turns[0].source_medium is None

    call = turns[3]
    assert call.message is None
    assert call.tool_calls == [{
        "request_id": "tool_call_9d2f61a0c4b8e7a3", "tool_name": "lookup_order",
        "params_as_json": '{"order_id": "NW-482913"}', "tool_has_been_called": True, "type": "custom",
    }]
    assert turns[4].tool_results == [{
        "request_id": "tool_call_9d2f61a0c4b8e7a3", "tool_name": "lookup_order",
        "result_value": '{"status": "held", "depot": "Newark"}', "is_error": False, "tool_has_been_called": True,
    }]
    assert turns[6].message == "1" and turns[6].extra == {"retell_role": "dtmf"}  # a key press
    assert turns[9].tool_results[0]["tool_name"] == "transfer_to_depot"
    assert turns[9].tool_results[0]["is_error"] is True  # successful: false
    assert turns[10].tool_results[0]["tool_name"] == "unknown"  # no invocation with that id
    assert turns[10].tool_results[0]["is_error"] is False  # successful absent: not known to have failed
    assert turns[11].message == "Newark depot, Sam speaking." and turns[11].extra == {"retell_role": "transfer_target"}


def test_node_transitions_are_not_turns_but_stay_in_raw() -> None:
    conv = conversation_from_retell(transferred())
    assert all(t.extra.get("retell_role") != "node_transition" for t in conv.turns)
    assert len(conv.turns) == len(transferred()["transcript_with_tool_calls"]) - 1
    assert conv.raw is not None and conv.raw["transcript_with_tool_calls"][5]["role"] == "node_transition"


def test_web_call_ended_without_analysis_is_processing() -> None:
    conv = conversation_from_retell(payload("web_call_ended_unanalysed"))

    assert (conv.channel, conv.direction) == ("web", None)
    assert (conv.status, conv.provider_status) == (Status.processing, "ended")
    assert conv.customer_number is None and conv.agent_number is None
    assert conv.user_id == "cust_00077"  # from the dynamic variables: metadata is null
    assert conv.metadata == {}
    assert conv.duration_secs == 71  # end - start when duration_ms is absent (71.4 s)
    assert conv.ended_at == datetime.fromtimestamp(1749045671.4, UTC)
    assert conv.call_successful is CallSuccessful.unknown and conv.summary is None and conv.sentiment is None
    assert conv.cost_cents is None and conv.cost_raw is None
    assert conv.has_audio is False
    # Only transcript_object: utterances, no tools.
    assert [(t.role, t.time_in_call_secs) for t in conv.turns] == [(Role.agent, 0.9), (Role.user, 4.25)]


def test_outbound_not_connected_call() -> None:
    conv = conversation_from_retell(payload("phone_outbound_not_connected"))

    assert (conv.status, conv.provider_status) == (Status.failed, "not_connected")
    assert conv.direction is Direction.outbound
    assert conv.customer_number == "+447700900123"  # outbound: the callee
    assert conv.agent_number == "+12125550100"  # "12125550100" without its +
    assert conv.agent.name is None
    assert conv.duration_secs == 0 and conv.ended_at == conv.started_at
    assert conv.turns == []
    assert conv.user_id == "40412"  # a numeric metadata.user_id
    assert conv.termination_reason == "dial_no_answer"
    assert conv.transfer_to is None


# ------------------------------------------------------------------ statuses and finality


@pytest.mark.parametrize(
    ("call_status", "analysed", "status", "final"),
    [
        ("registered", False, Status.initiated, False),
        ("ongoing", False, Status.in_progress, False),
        ("ended", False, Status.processing, False),
        ("ended", True, Status.done, True),
        ("error", False, Status.failed, True),
        ("error", True, Status.failed, True),
        ("not_connected", False, Status.failed, True),
    ],
)
def test_status_mapping(call_status: str, analysed: bool, status: Status, final: bool) -> None:
    body = transferred()
    body["call_status"] = call_status
    if not analysed:
        del body["call_analysis"]
    conv = conversation_from_retell(body)
    assert conv.status is status
    assert conv.provider_status == call_status
    assert is_final(body) is final


@pytest.mark.parametrize("call_status", ["registered", "ongoing"])
def test_open_calls_have_no_end(call_status: str) -> None:
    body = transferred()
    body.update(call_status=call_status, call_analysis=None)
    assert conversation_from_retell(body).ended_at is None


def test_ended_at_from_duration_when_end_timestamp_is_missing() -> None:
    body = transferred()
    del body["end_timestamp"]
    conv = conversation_from_retell(body)
    assert conv.ended_at == conv.started_at + timedelta(seconds=188)


def test_no_duration_at_all_is_zero() -> None:
    body = transferred()
    del body["end_timestamp"], body["duration_ms"]
    conv = conversation_from_retell(body)
    assert conv.duration_secs == 0 and conv.ended_at == conv.started_at


# ------------------------------------------------------------------ smaller decisions


@pytest.mark.parametrize(("given", "expected"), [(True, "success"), (False, "failure"), (None, "unknown")])
def test_call_successful_is_a_boolean_or_unknown(given: bool | None, expected: str) -> None:
    body = transferred()
    body["call_analysis"]["call_successful"] = given
    assert conversation_from_retell(body).call_successful == expected


@pytest.mark.parametrize(("given", "expected"), [("Positive", "positive"), ("Negative", "negative"),
                                                 ("Unknown", None), (None, None)])
def test_sentiment(given: str | None, expected: str | None) -> None:
    body = transferred()
    body["call_analysis"]["user_sentiment"] = given
    assert conversation_from_retell(body).sentiment == expected


def test_transcript_object_is_used_when_there_is_no_tool_transcript() -> None:
    body = transferred()
    del body["transcript_with_tool_calls"]
    conv = conversation_from_retell(body)
    assert [t.message for t in conv.turns] == [u["content"] for u in body["transcript_object"]]
    assert not any(t.tool_calls or t.tool_results for t in conv.turns)


def test_sms_and_injected_entries() -> None:
    body = transferred()
    body["transcript_with_tool_calls"] = [
        {"role": "sms", "content": "Sorry, can't talk, text me", "time_sec": 12.5},
        {"role": "injected", "content": "Customer is a VIP", "time_sec": 14},
        {"role": "user", "content": "Hello?", "words": []},  # no words: the time of the entry before
    ]
    turns = conversation_from_retell(body).turns
    assert [(t.role, t.message, t.time_in_call_secs, t.source_medium) for t in turns] == [
        (Role.user, "Sorry, can't talk, text me", 12.5, "text"),
        (Role.system, "Customer is a VIP", 14, None),
        (Role.user, "Hello?", 14, "audio"),
    ]


def test_user_id_prefers_metadata_then_dynamic_variables() -> None:
    body = transferred()
    body["retell_llm_dynamic_variables"] = {"user_id": "from-variables"}
    assert conversation_from_retell(body).user_id == "cust_00412"
    body["metadata"] = {"campaign": "spring"}
    assert conversation_from_retell(body).user_id == "from-variables"
    body["metadata"] = ["not", "an", "object"]  # Retell's metadata is free-form
    conv = conversation_from_retell(body)
    assert conv.user_id == "from-variables" and conv.metadata == {}


@pytest.mark.parametrize(
    ("reason", "destination", "expected"),
    [
        ("call_transfer", "+12125550188", "+12125550188"),
        ("call_transfer", "1 212 555 0188", "+12125550188"),
        ("call_transfer", "sip:support@pbx.northwind.example", None),  # not a number
        ("call_transfer", None, None),
        ("user_hangup", "+12125550188", None),  # only a call that ended in the transfer
    ],
)
def test_transfer_to(reason: str, destination: str | None, expected: str | None) -> None:
    body = transferred()
    body["disconnection_reason"] = reason
    body["transfer_destination"] = destination
    assert conversation_from_retell(body).transfer_to == expected


def test_call_type_is_inferred_for_partial_objects() -> None:
    body = transferred()
    del body["call_type"]
    assert conversation_from_retell(body).channel == "phone"
    web = payload("web_call_ended_unanalysed")
    del web["call_type"]
    assert conversation_from_retell(web).channel == "web"


def test_phone_call_without_direction_keeps_numbers_only_in_raw() -> None:
    body = transferred()
    del body["direction"]
    conv = conversation_from_retell(body)
    assert conv.direction is None and conv.customer_number is None and conv.agent_number is None


def test_blank_recording_url_means_no_audio() -> None:
    body = transferred()
    body["recording_url"] = "  "
    assert conversation_from_retell(body).has_audio is False


def test_the_input_is_not_modified() -> None:
    body = transferred()
    before = copy.deepcopy(body)
    conversation_from_retell(body)
    assert body == before


# ------------------------------------------------------------------ errors


def _broken(change: Any) -> dict[str, Any]:
    body = transferred()
    change(body)
    return body


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda b: b.pop("agent_id"), "agent_id", "missing"),
        (lambda b: b.update(agent_id=""), "agent_id", "must not be empty"),
        (lambda b: b.pop("call_status"), "call_status", "missing"),
        (lambda b: b.update(call_status="queued"), "call_status", "unknown value 'queued'"),
        (lambda b: b.pop("start_timestamp"), "start_timestamp", "missing"),
        (lambda b: b.update(start_timestamp="1749042000250"), "start_timestamp", "expected a number, got string"),
        (lambda b: b.update(start_timestamp=True), "start_timestamp", "expected a number, got boolean"),
        (lambda b: b.update(start_timestamp=1e300), "start_timestamp", "not a usable Unix time"),
        (lambda b: b.update(duration_ms=-5), "duration_ms", "must not be negative"),
        (lambda b: (b.pop("duration_ms"), b.update(end_timestamp=1)), "end_timestamp", "is before start_timestamp"),
        (lambda b: b.update(call_type="sms_chat"), "call_type", "unknown value 'sms_chat'"),
        (lambda b: b.update(direction="sideways"), "direction", "unknown value 'sideways'"),
        (lambda b: b.update(from_number=4155550142), "from_number", "expected a string, got integer"),
        (lambda b: b["call_analysis"].update(call_successful="yes"), "call_analysis.call_successful",
         "expected a boolean, got string"),
        (lambda b: b["call_analysis"].update(custom_analysis_data=[1]), "call_analysis.custom_analysis_data",
         "expected an object, got list"),
        (lambda b: b.update(call_analysis="done"), "call_analysis", "expected an object, got string"),
        (lambda b: b["call_cost"].update(combined_cost="26.9"), "call_cost.combined_cost",
         "expected a number, got string"),
        (lambda b: b.update(transcript_with_tool_calls={"role": "agent"}), "transcript_with_tool_calls",
         "expected a list, got object"),
        (lambda b: b["transcript_with_tool_calls"].append("hello"), "transcript_with_tool_calls[13]",
         "expected an object, got string"),
        (lambda b: b["transcript_with_tool_calls"].append({"role": "robot"}), "transcript_with_tool_calls[13].role",
         "unknown value 'robot'"),
        (lambda b: b["transcript_with_tool_calls"].append({"content": "hi"}), "transcript_with_tool_calls[13].role",
         "missing"),
        (lambda b: b["transcript_with_tool_calls"][3].pop("name"), "transcript_with_tool_calls[3].name", "missing"),
        (lambda b: b["transcript_with_tool_calls"][4].update(successful="yes"),
         "transcript_with_tool_calls[4].successful", "expected a boolean, got string"),
        (lambda b: b["transcript_with_tool_calls"][0].update(words=[{"start": "0.4"}]),
         "transcript_with_tool_calls[0].words[0].start", "expected a number, got string"),
    ],
)
def test_mapping_errors_name_the_field_and_the_call(change: Any, field: str, problem: str) -> None:
    with pytest.raises(MappingError) as caught:
        conversation_from_retell(_broken(change))
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert caught.value.conversation_id == "call_4b1e9c2d7a8f40e6b3d5c1a2f9e8d7c6"


@pytest.mark.parametrize(("body", "field"), [({}, "call_id"), ({"call_id": 7}, "call_id"), ([], "body")])
def test_mapping_errors_without_a_call_id(body: Any, field: str) -> None:
    with pytest.raises(MappingError) as caught:
        conversation_from_retell(body)
    assert caught.value.field == field
    assert caught.value.conversation_id is None
