"""Vapi Call object → ConversationIn, on recorded-style payloads and edge cases."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from convhub.conversations.schemas import CallSuccessful, Direction, Role, Status
from convhub.providers.base import MappingError
from convhub.providers.vapi.mapper import conversation_from_vapi, recording_url
from convhub.simulators.vapi import VENDOR

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def ended_call(**changes: Any) -> dict[str, Any]:
    call = payload("call_ended_inbound")
    call.update(changes)
    return call


# ----------------------------------------------------------------------- a whole call


def test_ended_inbound_call_maps_every_field() -> None:
    conv = conversation_from_vapi(payload("call_ended_inbound"))

    assert conv.provider == "vapi"
    assert conv.provider_conversation_id == "3f0c8a52-6d1e-4b7a-9c2f-1e5d8b4a7c90"
    assert conv.agent.provider_agent_id == "9a41f3e2-7b5c-4d8e-a1f0-3c2b6d9e8f71"
    assert conv.agent.name == "Maya (Northwind)"
    assert (conv.channel, conv.direction) == ("phone", Direction.inbound)
    assert (conv.status, conv.provider_status) == (Status.done, "ended")
    assert conv.started_at == datetime(2025, 6, 4, 13, 0, 2, 105_000, tzinfo=UTC)
    assert conv.ended_at == datetime(2025, 6, 4, 13, 3, 12, 840_000, tzinfo=UTC)
    assert conv.duration_secs == 191
    assert conv.source_updated_at == datetime(2025, 6, 4, 13, 3, 19, 877_000, tzinfo=UTC)
    assert conv.customer_number == "+14155550142"
    assert conv.agent_number == "+14155550100"
    assert conv.user_id == "crm_58213"
    assert conv.metadata == {"ticket": "TK-441902", "priority": "high"}
    assert conv.termination_reason == "assistant-forwarded-call"
    assert conv.transfer_to == "+14155550199"
    assert conv.call_successful == CallSuccessful.failure
    assert [(e.criteria_id, e.result, e.rationale) for e in conv.evaluation_results] == [
        ("successEvaluation", CallSuccessful.failure, "false")
    ]
    assert conv.summary is not None and conv.summary.startswith("Dana asked why")
    assert {d.data_collection_id: d.value for d in conv.data_collection} == {
        "customer_intent": "billing", "order_value": 89.5, "wants_callback": False,
    }
    assert conv.cost_cents == pytest.approx(21.37)
    assert conv.cost_raw == {"amount": 0.2137, "unit": "usd"}
    assert conv.has_audio and conv.has_user_audio and conv.has_response_audio
    assert conv.raw is not None and conv.raw["costBreakdown"]["llmPromptTokens"] == 14210


def test_turns_keep_roles_times_and_tools() -> None:
    turns = conversation_from_vapi(payload("call_ended_inbound")).turns

    assert [t.role for t in turns] == [
        Role.system, Role.agent, Role.user, Role.agent, Role.tool, Role.agent, Role.agent,
    ]
    assert [t.time_in_call_secs for t in turns] == [0, 0.8, 4.495, 9.195, 9.945, 10.595, 16.995]
    assert turns[2].message == "Hi, I was charged twice for invoice INV-20931."
    lookup = turns[3]
    assert lookup.message is None  # a tool_calls message says nothing out loud
    assert lookup.tool_calls == [{
        "tool_name": "lookup_invoice", "request_id": "call_Xq81Lm2VbT0",
        "params_as_json": '{"invoice_id": "INV-20931"}', "type": "function",
    }]
    assert turns[4].tool_results == [{
        "tool_name": "lookup_invoice", "request_id": "call_Xq81Lm2VbT0",
        "result_value": '{"charges": 2, "amount": 89.5}',
    }]
    # Arguments given as an object are kept as JSON text, like every other tool call.
    assert json.loads(turns[6].tool_calls[0]["params_as_json"]) == {"destination": "+14155550199"}
    assert turns[1].extra["assistantName"] == "Maya (Northwind)"
    assert turns[1].extra["duration"] == 2215


def test_tool_result_without_name_takes_it_from_its_call() -> None:
    call = ended_call()
    del call["artifact"]["messages"][4]["name"]
    assert conversation_from_vapi(call).turns[4].tool_results[0]["tool_name"] == "lookup_invoice"


def test_tool_result_naming_nothing_is_a_mapping_error() -> None:
    call = ended_call()
    del call["artifact"]["messages"][4]["name"]
    call["artifact"]["messages"][4]["toolCallId"] = "call_unknown"
    with pytest.raises(MappingError) as caught:
        conversation_from_vapi(call)
    assert caught.value.field == "artifact.messages[4].name"


def test_in_progress_web_call_has_no_end_and_uses_top_level_messages() -> None:
    conv = conversation_from_vapi(payload("call_web_in_progress"))

    assert (conv.channel, conv.direction) == ("web", None)
    assert (conv.status, conv.provider_status) == (Status.in_progress, "in-progress")
    assert conv.ended_at is None and conv.duration_secs == 0
    assert conv.customer_number is None and conv.agent_number is None
    assert conv.user_id == "user_7781"
    assert conv.metadata == {"userId": "user_7781", "plan": "pro"}
    assert [t.role for t in conv.turns] == [Role.system, Role.agent, Role.user]
    assert conv.cost_cents is None and conv.cost_raw is None
    assert conv.call_successful == CallSuccessful.unknown and conv.evaluation_results == []
    assert not conv.has_audio
    assert conv.transfer_to is None


def test_unanswered_outbound_call_failed_without_starting() -> None:
    conv = conversation_from_vapi(payload("call_outbound_no_answer"))

    assert (conv.status, conv.provider_status) == (Status.failed, "ended")
    assert conv.direction == Direction.outbound
    assert conv.started_at == datetime(2025, 6, 5, 9, 15, 30, tzinfo=UTC)  # createdAt: it never started
    assert conv.ended_at == datetime(2025, 6, 5, 9, 16, 0, 204_000, tzinfo=UTC)
    assert conv.duration_secs == 0
    assert conv.customer_number == "+442079460321"
    assert conv.cost_cents == 0 and conv.cost_raw == {"amount": 0, "unit": "usd"}
    assert conv.turns == [] and conv.summary is None


# ----------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("status", "ended_reason", "started", "expected"),
    [
        ("scheduled", None, False, Status.initiated),
        ("queued", None, False, Status.initiated),
        ("ringing", None, False, Status.initiated),
        ("in-progress", None, True, Status.in_progress),
        ("forwarding", None, True, Status.in_progress),
        ("ended", "customer-ended-call", True, Status.done),
        ("ended", "assistant-forwarded-call", True, Status.done),
        ("ended", "voicemail", True, Status.done),
        ("ended", "exceeded-max-duration", True, Status.done),
        ("ended", None, True, Status.done),
        ("ended", "customer-did-not-answer", True, Status.failed),
        ("ended", "customer-busy", True, Status.failed),
        ("ended", "twilio-failed-to-connect-call", True, Status.failed),
        ("ended", "pipeline-error-openai-llm-failed", True, Status.failed),
        ("ended", "call.in-progress.error-vapifault-openai-voice-failed", True, Status.failed),
        ("ended", "call.start.error-get-assistant", True, Status.failed),
        ("ended", "customer-ended-call", False, Status.failed),  # ended without ever starting
        ("deletion-failed", None, True, Status.done),
        ("not-found", None, False, Status.failed),
    ],
)
def test_status_mapping(status: str, ended_reason: str | None, started: bool, expected: Status) -> None:
    call = ended_call(status=status, endedReason=ended_reason)
    if not started:
        del call["startedAt"]
    conv = conversation_from_vapi(call)
    assert conv.status == expected
    assert conv.provider_status == status
    finished = expected in (Status.done, Status.failed)
    assert (conv.ended_at is not None) == finished
    assert conv.transfer_to == ("+14155550199" if finished and ended_reason == "assistant-forwarded-call" else None)


def test_unknown_status_is_a_mapping_error() -> None:
    with pytest.raises(MappingError) as caught:
        conversation_from_vapi(ended_call(status="teleported"))
    assert (caught.value.field, caught.value.conversation_id) == ("status", "3f0c8a52-6d1e-4b7a-9c2f-1e5d8b4a7c90")


# ----------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-06-04T13:00:02.105Z", datetime(2025, 6, 4, 13, 0, 2, 105_000, tzinfo=UTC)),
        ("2025-06-04T15:00:02.105+02:00", datetime(2025, 6, 4, 13, 0, 2, 105_000, tzinfo=UTC)),
        ("2025-06-04T13:00:02", datetime(2025, 6, 4, 13, 0, 2, tzinfo=UTC)),  # naive: UTC
    ],
)
def test_timestamps_become_utc(raw: str, expected: datetime) -> None:
    assert conversation_from_vapi(ended_call(startedAt=raw)).started_at == expected


@pytest.mark.parametrize(("key", "value"), [("createdAt", 1749042000), ("startedAt", "yesterday"),
                                            ("endedAt", "2025-13-01T00:00:00Z"), ("updatedAt", True)])
def test_bad_timestamps_are_mapping_errors(key: str, value: Any) -> None:
    with pytest.raises(MappingError) as caught:
        conversation_from_vapi(ended_call(**{key: value}))
    assert caught.value.field == key


def test_missing_created_at_is_a_mapping_error() -> None:
    call = ended_call()
    del call["createdAt"]
    with pytest.raises(MappingError, match="createdAt"):
        conversation_from_vapi(call)


def test_end_before_start_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="endedAt"):
        conversation_from_vapi(ended_call(endedAt="2025-06-04T12:59:00Z"))


# ----------------------------------------------------------------------- cost


@pytest.mark.parametrize(("cost", "cents"), [(0.2137, 21.37), (1.5, 150.0), (0, 0.0), (0.00049, 0.049)])
def test_cost_is_usd_in_cents(cost: float, cents: float) -> None:
    conv = conversation_from_vapi(ended_call(cost=cost))
    assert conv.cost_cents == pytest.approx(cents)
    assert conv.cost_raw == {"amount": cost, "unit": "usd"}


@pytest.mark.parametrize("cost", ["0.21", True, float("nan")])
def test_cost_of_the_wrong_type_is_a_mapping_error(cost: Any) -> None:
    with pytest.raises(MappingError) as caught:
        conversation_from_vapi(ended_call(cost=cost))
    assert caught.value.field == "cost"


# ----------------------------------------------------------------------- analysis


@pytest.mark.parametrize(
    ("evaluation", "expected"),
    [
        ("true", CallSuccessful.success),
        (" True ", CallSuccessful.success),
        ("pass", CallSuccessful.success),
        ("false", CallSuccessful.failure),
        ("Fail", CallSuccessful.failure),
        (True, CallSuccessful.success),
        (False, CallSuccessful.failure),
        ("8", CallSuccessful.unknown),  # a score on a scale the call does not state
        ("Good", CallSuccessful.unknown),
        (7, CallSuccessful.unknown),
    ],
)
def test_success_evaluation(evaluation: Any, expected: CallSuccessful) -> None:
    call = ended_call()
    call["analysis"]["successEvaluation"] = evaluation
    conv = conversation_from_vapi(call)
    assert conv.call_successful == expected
    assert [e.result for e in conv.evaluation_results] == [expected]
    assert conv.evaluation_results[0].rationale != ""


@pytest.mark.parametrize("evaluation", [None, "", "   "])
def test_no_success_evaluation_is_unknown_without_a_result(evaluation: Any) -> None:
    call = ended_call()
    call["analysis"]["successEvaluation"] = evaluation
    conv = conversation_from_vapi(call)
    assert conv.call_successful == CallSuccessful.unknown
    assert conv.evaluation_results == []


def test_success_evaluation_of_the_wrong_type_is_a_mapping_error() -> None:
    call = ended_call()
    call["analysis"]["successEvaluation"] = ["true"]
    with pytest.raises(MappingError) as caught:
        conversation_from_vapi(call)
    assert caught.value.field == "analysis.successEvaluation"


def test_blank_summary_is_none() -> None:
    call = ended_call()
    call["analysis"]["summary"] = "  "
    assert conversation_from_vapi(call).summary is None


# ----------------------------------------------------------------------- numbers, people, agents


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (415) 555-0142", "+14155550142"),
        ("14155550142", "+14155550142"),
        ("tel:+442079460321", "+442079460321"),
    ],
)
def test_customer_numbers_are_e164(raw: str, expected: str) -> None:
    assert conversation_from_vapi(ended_call(customer={"number": raw})).customer_number == expected


def test_sip_customer_is_kept_as_given() -> None:
    conv = conversation_from_vapi(ended_call(customer={"sipUri": "sip:dana@pbx.example.com"}))
    assert conv.customer_number == "sip:dana@pbx.example.com"


def test_agent_number_from_a_transient_twilio_number() -> None:
    conv = conversation_from_vapi(ended_call(phoneNumber={"twilioPhoneNumber": "+1 415-555-0100",
                                                          "twilioAccountSid": "AC0"}))
    assert conv.agent_number == "+14155550100"


def test_line_named_only_by_id_has_no_agent_number() -> None:
    call = ended_call()
    del call["phoneNumber"]
    assert conversation_from_vapi(call).agent_number is None


@pytest.mark.parametrize(
    ("call_type", "channel", "direction"),
    [
        ("inboundPhoneCall", "phone", Direction.inbound),
        ("outboundPhoneCall", "phone", Direction.outbound),
        ("webCall", "web", None),
        ("vapi.websocketCall", "web", None),
    ],
)
def test_call_type_gives_channel_and_direction(call_type: str, channel: str, direction: Direction | None) -> None:
    conv = conversation_from_vapi(ended_call(type=call_type))
    assert (conv.channel, conv.direction) == (channel, direction)


def test_untyped_call_is_a_phone_call_when_it_has_a_customer_number() -> None:
    call = ended_call()
    del call["type"]
    assert conversation_from_vapi(call).channel == "phone"
    del call["customer"]
    assert conversation_from_vapi(call).channel == "web"


def test_unknown_call_type_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="type"):
        conversation_from_vapi(ended_call(type="carrierPigeonCall"))


@pytest.mark.parametrize(
    ("customer", "overrides", "expected"),
    [
        ({"externalId": "crm_1"}, {"metadata": {"userId": "meta_1"}}, "crm_1"),
        ({"number": "+14155550142"}, {"metadata": {"user_id": "meta_2"}}, "meta_2"),
        (None, {"metadata": {"userId": 4417}}, "4417"),
        (None, {"variableValues": {"userId": "var_3"}}, "var_3"),
        (None, {"metadata": {"userId": {"nested": True}}}, None),
        (None, None, None),
    ],
)
def test_user_id(customer: dict[str, Any] | None, overrides: dict[str, Any] | None, expected: str | None) -> None:
    call = ended_call(customer=customer, assistantOverrides=overrides)
    assert conversation_from_vapi(call).user_id == expected


def test_squad_call_files_under_the_squad() -> None:
    call = ended_call(squadId="squad-77")
    del call["assistantId"]
    assert conversation_from_vapi(call).agent.provider_agent_id == "squad-77"


def test_transient_assistant_name_is_used() -> None:
    call = ended_call(assistant={"name": "After-hours line"})
    assert conversation_from_vapi(call).agent.name == "After-hours line"


def test_a_transient_assistant_call_is_filed_under_its_name() -> None:
    call = ended_call(assistant={"name": "After-hours line"})
    del call["assistantId"]
    agent = conversation_from_vapi(call).agent
    assert agent.provider_agent_id == "transient:After-hours line"
    assert agent.name == "After-hours line"
    del call["assistant"]
    assert conversation_from_vapi(call).agent.provider_agent_id == "transient:unnamed"


# ----------------------------------------------------------------------- transfers and audio


def test_transfer_target_falls_back_to_forwarded_number_then_transfer_records() -> None:
    call = ended_call(destination=None, forwardedPhoneNumber="+1 415 555 0177")
    assert conversation_from_vapi(call).transfer_to == "+14155550177"
    call = ended_call(destination=None)
    call["artifact"]["transfers"] = [
        {"destination": {"type": "number", "number": "+14155550166"}, "status": "completed"},
    ]
    assert conversation_from_vapi(call).transfer_to == "+14155550166"


def test_no_transfer_target_unless_the_call_was_forwarded() -> None:
    assert conversation_from_vapi(ended_call(endedReason="customer-ended-call")).transfer_to is None


@pytest.mark.parametrize(
    ("artifact", "expected"),
    [
        ({"recordingUrl": "https://storage.example/a.wav"}, "https://storage.example/a.wav"),
        ({"recording": {"mono": {"combinedUrl": "https://storage.example/b.wav"}}}, "https://storage.example/b.wav"),
        ({"stereoRecordingUrl": "https://storage.example/c.wav"}, "https://storage.example/c.wav"),
        ({"recordingUrl": ""}, None),
        ({}, None),
    ],
)
def test_recording_url(artifact: dict[str, Any], expected: str | None) -> None:
    call = ended_call(artifact=artifact)
    assert recording_url(call) == expected
    assert conversation_from_vapi(call).has_audio is (expected is not None)


# ----------------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": 42}, "id"),
        ({"status": None}, "status"),
        ({"customer": "+14155550142"}, "customer"),
        ({"customer": {"number": 14155550142}}, "customer.number"),
        ({"analysis": ["summary"]}, "analysis"),
        ({"endedReason": 3}, "endedReason"),
        ({"artifact": {"messages": {"role": "user"}}}, "artifact.messages"),
    ],
)
def test_wrong_types_are_mapping_errors(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MappingError) as caught:
        conversation_from_vapi(ended_call(**change))
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "narrator", "message": "…", "secondsFromStart": 1}, "artifact.messages[1].role"),
        ({"message": "no role", "secondsFromStart": 1}, "artifact.messages[1].role"),
        ({"role": "user", "message": "hi", "secondsFromStart": "1"}, "artifact.messages[1].secondsFromStart"),
        ({"role": "tool_calls", "toolCalls": [{"id": "x", "function": {}}]},
         "artifact.messages[1].toolCalls[0].function.name"),
        ("hello", "artifact.messages[1]"),
    ],
)
def test_bad_messages_are_mapping_errors(message: Any, field: str) -> None:
    call = ended_call()
    call["artifact"]["messages"][1] = message
    with pytest.raises(MappingError) as caught:
        conversation_from_vapi(call)
    assert caught.value.field == field


def test_body_that_is_not_an_object_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="body"):
        conversation_from_vapi([])  # type: ignore[arg-type]


def test_mapping_does_not_touch_its_input() -> None:
    call = ended_call()
    before = copy.deepcopy(call)
    conv = conversation_from_vapi(call)
    assert call == before
    assert conv.raw == before


def test_every_simulated_call_maps() -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    calls = [VENDOR.generate(i, seed=7, agents=4, start=start, span_days=10) for i in range(150)]
    statuses = {conversation_from_vapi(call).status for call in calls}
    assert statuses == {Status.initiated, Status.in_progress, Status.done, Status.failed}
