"""ElevenLabs conversation body → ConversationIn, on a recorded-style payload and edge cases."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from convhub.conversations.schemas import CallSuccessful, Direction, Role, Status
from convhub.providers.elevenlabs.mapper import MappingError, conversation_from_elevenlabs
from convhub.simulators.generate import generate_elevenlabs_conversations

START = 1_749_042_000  # 2025-06-04 13:00:00 UTC


def detail() -> dict[str, Any]:
    """An inbound Twilio call shaped like a real GET /v1/convai/conversations/{id} body."""
    return {
        "agent_id": "agent_01jvq3x7m2f8k9d0c4b5n6p7r8",
        "agent_name": "Support line",
        "conversation_id": "conv_01jx2b7k9m4n5p6q7r8s9t0v1w",
        "status": "done",
        "user_id": None,
        "branch_id": None,
        "transcript": [
            {
                "role": "agent",
                "agent_metadata": {"agent_id": "agent_01jvq3x7m2f8k9d0c4b5n6p7r8", "workflow_node_id": None},
                "message": "Thanks for calling Northwind, this is Maya. How can I help?",
                "multivoice_message": None,
                "tool_calls": [],
                "tool_results": [],
                "feedback": None,
                "llm_override": None,
                "time_in_call_secs": 0,
                "conversation_turn_metrics": {"metrics": {"convai_llm_service_ttfb": {"elapsed_time": 0.41}}},
                "rag_retrieval_info": None,
                "llm_usage": {
                    "model_usage": {
                        "gemini-2.0-flash": {
                            "input": {"tokens": 812, "price": 0.0000812},
                            "output_total": {"tokens": 19, "price": 0.0000076},
                        }
                    }
                },
                "interrupted": False,
                "original_message": None,
                "source_medium": None,
            },
            {
                "role": "user",
                "agent_metadata": None,
                "message": "Hi, where is my order NW-482913? It was due yesterday.",
                "tool_calls": [],
                "tool_results": [],
                "feedback": None,
                "time_in_call_secs": 6,
                "llm_usage": None,
                "interrupted": False,
                "original_message": None,
                "source_medium": "audio",
            },
            {
                "role": "agent",
                "message": "Let me check that order for you.",
                "tool_calls": [
                    {
                        "type": "webhook",
                        "request_id": "lookup_order_8f2c",
                        "tool_name": "lookup_order",
                        "params_as_json": '{"order_id": "NW-482913"}',
                        "tool_has_been_called": True,
                        "tool_details": {
                            "type": "webhook",
                            "method": "POST",
                            "url": "https://api.northwind.example/v1/lookup-order",
                            "headers": {},
                            "path_params": {},
                            "query_params": {},
                            "body": '{"order_id": "NW-482913"}',
                        },
                    }
                ],
                "tool_results": [],
                "feedback": None,
                "time_in_call_secs": 11,
                "interrupted": True,
                "source_medium": None,
            },
            {
                "role": "agent",
                "message": None,
                "tool_calls": [],
                "tool_results": [
                    {
                        "type": "webhook",
                        "request_id": "lookup_order_8f2c",
                        "tool_name": "lookup_order",
                        "result_value": '{"status": "in_transit", "carrier": "UPS", "eta": "Thursday"}',
                        "is_error": False,
                        "tool_has_been_called": True,
                        "tool_latency_secs": 0.38,
                        "dynamic_variable_updates": [],
                    }
                ],
                "time_in_call_secs": 12,
            },
            {
                "role": "agent",
                "message": "It's with UPS and due on Thursday.",
                "tool_calls": [],
                "tool_results": [],
                "feedback": {"score": "like", "time_in_call_secs": 15},
                "time_in_call_secs": 14,
                "rag_retrieval_info": None,
                "source_medium": None,
            },
        ],
        "metadata": {
            "start_time_unix_secs": START,
            "accepted_time_unix_secs": START + 1,
            "call_duration_secs": 95,
            "cost": 812,
            "deletion_settings": {
                "deletion_time_unix_secs": None,
                "deleted_logs_at_time_unix_secs": None,
                "deleted_audio_at_time_unix_secs": None,
                "deleted_transcript_at_time_unix_secs": None,
                "delete_transcript_and_pii": False,
                "delete_audio": False,
            },
            "feedback": {
                "type": "rating",
                "overall_score": "like",
                "likes": 1,
                "dislikes": 0,
                "rating": 4,
                "comment": "Quick and friendly.",
            },
            "authorization_method": "authorization_header",
            "charging": {
                "dev_discount": False,
                "is_burst": False,
                "tier": "pro",
                "llm_price": 0.0012,
                "llm_charge": 12,
                "call_charge": 800,
                "platform_price": 0.1283,
                "free_minutes_consumed": 0.0,
                "free_llm_dollars_consumed": 0.0,
            },
            "phone_call": {
                "type": "twilio",
                "direction": "inbound",
                "phone_number_id": "phnum_01jvq4a1b2c3d4e5f6g7h8j9k0",
                "agent_number": "+14155550100",
                "external_number": "+12125550142",
                "stream_sid": "MZ0f9e8d7c6b5a49382716051f2e3d4c5b",
                "call_sid": "CA1a2b3c4d5e6f708192a3b4c5d6e7f809",
            },
            "batch_call": None,
            "termination_reason": "end_call tool was called.",
            "error": None,
            "main_language": "en",
            "rag_usage": None,
            "text_only": False,
            "conversation_initiation_source": "twilio",
            "timezone": "America/New_York",
            "whatsapp": None,
        },
        "analysis": {
            "evaluation_criteria_results": {
                "issue_resolved": {
                    "criteria_id": "issue_resolved",
                    "result": "success",
                    "rationale": "The agent gave the delivery date.",
                },
                "polite_and_professional": {
                    "criteria_id": "polite_and_professional",
                    "result": "unknown",
                    "rationale": "",
                },
            },
            "data_collection_results": {
                "customer_intent": {
                    "data_collection_id": "customer_intent",
                    "value": "order_status",
                    "json_schema": {"type": "string", "description": "Why the customer called."},
                    "rationale": "The caller asked where the order is.",
                },
                "order_value": {
                    "data_collection_id": "order_value",
                    "value": 89.5,
                    "json_schema": {"type": "number", "description": "Order value."},
                    "rationale": "From the order lookup.",
                },
                "wants_callback": {
                    "data_collection_id": "wants_callback",
                    "value": False,
                    "json_schema": {"type": "boolean", "description": "Asked for a call back."},
                    "rationale": "Not requested.",
                },
            },
            "call_successful": "success",
            "transcript_summary": "The customer asked about order NW-482913; it is with UPS, due Thursday.",
            "call_summary_title": "Order status: NW-482913",
        },
        "conversation_initiation_client_data": {
            "conversation_config_override": {"turn": None, "tts": None, "conversation": None, "agent": None},
            "custom_llm_extra_body": {},
            "user_id": "cust_00042",
            "source_info": {"source": "twilio", "version": None},
            "dynamic_variables": {"system__caller_id": "+12125550142", "customer_tier": "gold"},
        },
        "has_audio": True,
        "has_user_audio": True,
        "has_response_audio": False,
        "has_auxiliary_audio": False,
    }


def minimal(**metadata: Any) -> dict[str, Any]:
    return {
        "conversation_id": "conv_min",
        "agent_id": "agent_min",
        "metadata": {"start_time_unix_secs": START, **metadata},
    }


# ------------------------------------------------------------------ full payload


def test_the_hand_written_payload_is_what_the_official_sdk_expects() -> None:
    elevenlabs_types = pytest.importorskip("elevenlabs.types")
    parsed = elevenlabs_types.GetConversationResponseModel.model_validate(detail())
    assert _unknown_fields(parsed) == []


def test_identity_agent_and_channel() -> None:
    conv = conversation_from_elevenlabs(detail())

    assert conv.provider == "elevenlabs"
    assert conv.provider_conversation_id == "conv_01jx2b7k9m4n5p6q7r8s9t0v1w"
    assert conv.agent.provider_agent_id == "agent_01jvq3x7m2f8k9d0c4b5n6p7r8"
    assert conv.agent.name == "Support line"
    assert conv.agent.agent_id is None
    assert conv.channel == "phone"
    assert conv.direction is Direction.inbound
    assert conv.customer_number == "+12125550142"
    assert conv.agent_number == "+14155550100"
    assert conv.status is Status.done
    assert conv.provider_status == "done"
    # The top-level user_id is null, so the one the client sent at start-up is used.
    assert conv.user_id == "cust_00042"


def test_times() -> None:
    conv = conversation_from_elevenlabs(detail())

    assert conv.started_at == datetime(2025, 6, 4, 13, 0, tzinfo=UTC)
    assert conv.started_at.tzinfo is not None
    assert conv.ended_at == conv.started_at + timedelta(seconds=95)
    assert conv.duration_secs == 95


def test_outcome_feedback_and_text() -> None:
    conv = conversation_from_elevenlabs(detail())

    assert conv.call_successful is CallSuccessful.success
    assert conv.rating == 4
    assert conv.feedback.likes == 1
    assert conv.feedback.dislikes == 0
    assert conv.feedback.comment == "Quick and friendly."
    assert conv.summary == "The customer asked about order NW-482913; it is with UPS, due Thursday."
    assert conv.title == "Order status: NW-482913"
    assert conv.termination_reason == "end_call tool was called."


def test_cost_keeps_credits_and_takes_usd_from_charging() -> None:
    conv = conversation_from_elevenlabs(detail())

    assert conv.cost_raw == {"amount": 812, "unit": "credits"}
    assert conv.cost_cents == pytest.approx(12.95)  # (0.0012 + 0.1283) USD


def test_cost_fiat_wins_over_charging() -> None:
    body = detail()
    body["metadata"]["cost_fiat"] = 0.2
    assert conversation_from_elevenlabs(body).cost_cents == pytest.approx(20.0)


def test_llm_price_alone_is_not_a_total_cost() -> None:
    body = detail()
    del body["metadata"]["charging"]["platform_price"]
    conv = conversation_from_elevenlabs(body)
    assert conv.cost_cents is None
    assert conv.cost_raw == {"amount": 812, "unit": "credits"}


def test_analysis_results() -> None:
    conv = conversation_from_elevenlabs(detail())

    evaluations = {e.criteria_id: (e.result, e.rationale) for e in conv.evaluation_results}
    assert evaluations == {
        "issue_resolved": (CallSuccessful.success, "The agent gave the delivery date."),
        "polite_and_professional": (CallSuccessful.unknown, ""),
    }
    collected = {d.data_collection_id: d.value for d in conv.data_collection}
    assert collected == {"customer_intent": "order_status", "order_value": 89.5, "wants_callback": False}
    assert {d.data_collection_id: d.rationale for d in conv.data_collection}["order_value"] == "From the order lookup."


def test_turns() -> None:
    turns = conversation_from_elevenlabs(detail()).turns

    assert [t.role for t in turns] == [Role.agent, Role.user, Role.agent, Role.agent, Role.agent]
    assert [t.time_in_call_secs for t in turns] == [0, 6, 11, 12, 14]
    assert turns[1].message == "Hi, where is my order NW-482913? It was due yesterday."
    assert turns[1].source_medium == "audio"
    assert turns[0].llm_usage is not None
    assert turns[0].llm_usage["model_usage"]["gemini-2.0-flash"]["input"]["tokens"] == 812
    assert turns[1].llm_usage is None

    call_turn, result_turn = turns[2], turns[3]
    assert call_turn.interrupted is True
    assert [c["tool_name"] for c in call_turn.tool_calls] == ["lookup_order"]
    assert call_turn.tool_calls[0]["params_as_json"] == '{"order_id": "NW-482913"}'
    assert result_turn.message is None
    assert result_turn.tool_results[0]["request_id"] == call_turn.tool_calls[0]["request_id"]
    assert result_turn.tool_results[0]["is_error"] is False

    assert turns[4].feedback == "like"
    assert [t.feedback for t in turns[:4]] == [None, None, None, None]


def test_turn_extra_keeps_unplaced_non_null_fields() -> None:
    turns = conversation_from_elevenlabs(detail()).turns

    assert turns[0].extra == {
        "agent_metadata": {"agent_id": "agent_01jvq3x7m2f8k9d0c4b5n6p7r8", "workflow_node_id": None},
        "conversation_turn_metrics": {"metrics": {"convai_llm_service_ttfb": {"elapsed_time": 0.41}}},
    }
    assert turns[1].extra == {}


def test_audio_flags_metadata_and_raw() -> None:
    body = detail()
    conv = conversation_from_elevenlabs(body)

    assert (conv.has_audio, conv.has_user_audio, conv.has_response_audio) == (True, True, False)
    assert conv.metadata == {}  # dynamic variables stay in raw
    assert conv.raw == body
    assert conv.raw["conversation_initiation_client_data"]["dynamic_variables"]["customer_tier"] == "gold"


def test_input_is_not_mutated() -> None:
    body = detail()
    before = copy.deepcopy(body)
    conversation_from_elevenlabs(body)
    assert body == before


# ---------------------------------------------------------------- variations


def test_minimal_body_gets_neutral_defaults() -> None:
    conv = conversation_from_elevenlabs(minimal())

    assert conv.provider_conversation_id == "conv_min"
    assert conv.agent.provider_agent_id == "agent_min"
    assert conv.agent.name is None
    assert conv.channel == "web"
    assert conv.direction is None
    assert conv.status is Status.done
    assert conv.provider_status is None
    assert conv.duration_secs == 0
    assert conv.ended_at == conv.started_at
    assert conv.call_successful is CallSuccessful.unknown
    assert conv.rating is None
    assert (conv.feedback.likes, conv.feedback.dislikes, conv.feedback.comment) == (0, 0, None)
    assert conv.summary is None and conv.title is None and conv.termination_reason is None
    assert conv.cost_cents is None and conv.cost_raw is None
    assert conv.turns == [] and conv.evaluation_results == [] and conv.data_collection == []
    assert conv.has_audio is False
    assert conv.user_id is None


def test_top_level_user_id_wins() -> None:
    body = detail()
    body["user_id"] = "user-top"
    assert conversation_from_elevenlabs(body).user_id == "user-top"


@pytest.mark.parametrize(
    ("metadata", "channel", "direction"),
    [
        ({"text_only": True}, "chat", None),
        ({"text_only": False}, "web", None),
        (
            {"whatsapp": {"direction": "outbound", "whatsapp_user_id": "447700900123"}, "text_only": True},
            "whatsapp",
            Direction.outbound,
        ),
        ({"whatsapp": {"direction": "unknown", "whatsapp_user_id": "1"}}, "whatsapp", None),
        ({"sms": {"direction": "inbound"}}, "sms", None),
        (
            {
                "phone_call": {
                    "type": "sip_trunking",
                    "direction": "outbound",
                    "phone_number_id": "phnum_1",
                    "agent_number": "+442079460000",
                    "external_number": "+441134960123",
                    "call_sid": "abc",
                },
                "text_only": True,
            },
            "phone",
            Direction.outbound,
        ),
    ],
)
def test_channel_and_direction(metadata: dict[str, Any], channel: str, direction: Direction | None) -> None:
    conv = conversation_from_elevenlabs(minimal(**metadata))
    assert conv.channel == channel
    assert conv.direction is direction


@pytest.mark.parametrize("status", ["initiated", "in-progress"])
def test_open_conversations_have_no_end(status: str) -> None:
    body = minimal(call_duration_secs=40)
    body["status"] = status
    conv = conversation_from_elevenlabs(body)
    assert conv.status == Status(status)
    assert conv.provider_status == status
    assert conv.ended_at is None
    assert conv.duration_secs == 40


@pytest.mark.parametrize("status", ["processing", "failed"])
def test_closed_conversations_end(status: str) -> None:
    body = minimal(call_duration_secs=40)
    body["status"] = status
    conv = conversation_from_elevenlabs(body)
    assert conv.status == Status(status)
    assert conv.ended_at == conv.started_at + timedelta(seconds=40)


def test_blank_strings_become_none() -> None:
    body = minimal(termination_reason="", feedback={"likes": 0, "dislikes": 2, "comment": "  "})
    body["analysis"] = {"call_successful": "failure", "transcript_summary": "", "call_summary_title": None}
    conv = conversation_from_elevenlabs(body)
    assert conv.termination_reason is None
    assert conv.feedback.comment is None
    assert conv.feedback.dislikes == 2
    assert conv.summary is None and conv.title is None
    assert conv.call_successful is CallSuccessful.failure


def test_analysis_lists_are_read_when_the_mappings_are_absent() -> None:
    body = minimal()
    body["analysis"] = {
        "call_successful": "success",
        "transcript_summary": "ok",
        "evaluation_criteria_results_list": [{"criteria_id": "greeted", "result": "success", "rationale": "yes"}],
        "data_collection_results_list": [{"data_collection_id": "city", "value": "Leeds", "rationale": "said"}],
    }
    conv = conversation_from_elevenlabs(body)
    assert [(e.criteria_id, e.result) for e in conv.evaluation_results] == [("greeted", CallSuccessful.success)]
    assert [(d.data_collection_id, d.value) for d in conv.data_collection] == [("city", "Leeds")]


def test_analysis_entry_without_id_uses_its_key() -> None:
    body = minimal()
    body["analysis"] = {
        "call_successful": "unknown",
        "transcript_summary": "",
        "evaluation_criteria_results": {"greeted": {"result": "failure", "rationale": "no"}},
        "data_collection_results": {"city": {"value": None, "rationale": ""}},
    }
    conv = conversation_from_elevenlabs(body)
    assert conv.evaluation_results[0].criteria_id == "greeted"
    assert conv.data_collection[0].data_collection_id == "city"
    assert conv.data_collection[0].value is None


def test_multivoice_turn_text_is_joined() -> None:
    body = minimal()
    body["transcript"] = [
        {
            "role": "agent",
            "message": None,
            "multivoice_message": {
                "parts": [
                    {"text": "Hello there.", "voice_label": None, "time_in_call_secs": 0},
                    {"text": "I'm the narrator.", "voice_label": "narrator", "time_in_call_secs": 1},
                ]
            },
            "time_in_call_secs": 0,
        }
    ]
    turn = conversation_from_elevenlabs(body).turns[0]
    assert turn.message == "Hello there. I'm the narrator."
    assert "multivoice_message" in turn.extra


def test_float_duration_and_start_are_accepted() -> None:
    conv = conversation_from_elevenlabs(minimal(call_duration_secs=12.9, start_time_unix_secs=START + 0.5))
    assert conv.duration_secs == 12
    assert conv.started_at == datetime(2025, 6, 4, 13, 0, 0, 500000, tzinfo=UTC)


# -------------------------------------------------------------------- errors


def _error(body: Any) -> MappingError:
    with pytest.raises(MappingError) as info:
        conversation_from_elevenlabs(body)
    assert isinstance(info.value, ValueError)
    return info.value


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda b: b.pop("conversation_id"), "conversation_id", "conversation_id: missing"),
        (lambda b: b.update(conversation_id=""), "conversation_id", "conversation_id: must not be empty"),
        (lambda b: b.update(conversation_id=42), "conversation_id", "conversation_id: expected a string, got integer"),
        (lambda b: b.pop("agent_id"), "agent_id", "agent_id: missing"),
        (lambda b: b.pop("metadata"), "metadata", "metadata: missing"),
        (lambda b: b.update(metadata=[]), "metadata", "metadata: expected an object, got list"),
        (
            lambda b: b["metadata"].pop("start_time_unix_secs"),
            "metadata.start_time_unix_secs",
            "metadata.start_time_unix_secs: missing",
        ),
        (
            lambda b: b["metadata"].update(start_time_unix_secs="1749042000"),
            "metadata.start_time_unix_secs",
            "metadata.start_time_unix_secs: expected a number, got string",
        ),
        (
            lambda b: b["metadata"].update(start_time_unix_secs=True),
            "metadata.start_time_unix_secs",
            "metadata.start_time_unix_secs: expected a number, got boolean",
        ),
        (
            lambda b: b["metadata"].update(start_time_unix_secs=10**20),
            "metadata.start_time_unix_secs",
            "metadata.start_time_unix_secs: not a usable Unix time",
        ),
        (
            lambda b: b["metadata"].update(call_duration_secs=-5),
            "metadata.call_duration_secs",
            "metadata.call_duration_secs: must not be negative",
        ),
        (lambda b: b.update(status="archived"), "status", "status: unknown value 'archived'"),
        (
            lambda b: b["metadata"]["phone_call"].update(direction="sideways"),
            "metadata.phone_call.direction",
            "metadata.phone_call.direction: unknown value 'sideways'",
        ),
        (
            lambda b: b["metadata"]["feedback"].update(rating=7),
            "metadata.feedback.rating",
            "metadata.feedback.rating: must be a whole number from 1 to 5, got 7",
        ),
        (
            lambda b: b["analysis"].update(call_successful="maybe"),
            "analysis.call_successful",
            "analysis.call_successful: unknown value 'maybe'",
        ),
        (
            lambda b: b["analysis"]["evaluation_criteria_results"]["issue_resolved"].update(result="great"),
            "analysis.evaluation_criteria_results.issue_resolved.result",
            "analysis.evaluation_criteria_results.issue_resolved.result: unknown value 'great'",
        ),
        (lambda b: b.update(transcript={}), "transcript", "transcript: expected a list, got object"),
        (lambda b: b["transcript"].append("hi"), "transcript[5]", "transcript[5]: expected an object, got string"),
        (
            lambda b: b["transcript"][1].update(role="narrator"),
            "transcript[1].role",
            "transcript[1].role: unknown value 'narrator'",
        ),
        (lambda b: b["transcript"][1].pop("role"), "transcript[1].role", "transcript[1].role: missing"),
        (
            lambda b: b["transcript"][2].update(tool_calls="lookup_order"),
            "transcript[2].tool_calls",
            "transcript[2].tool_calls: expected a list, got string",
        ),
        (
            lambda b: b["transcript"][0].update(interrupted="no"),
            "transcript[0].interrupted",
            "transcript[0].interrupted: expected a boolean, got string",
        ),
        (lambda b: b.update(has_audio=1), "has_audio", "has_audio: expected a boolean, got integer"),
    ],
)
def test_invalid_bodies_name_the_field(mutate: Any, field: str, message: str) -> None:
    body = detail()
    mutate(body)

    error = _error(body)

    assert error.field == field
    assert str(error).startswith(message)
    if field != "conversation_id":
        assert error.conversation_id == "conv_01jx2b7k9m4n5p6q7r8s9t0v1w"
        assert str(error).endswith("(conversation conv_01jx2b7k9m4n5p6q7r8s9t0v1w)")


@pytest.mark.parametrize("body", [[], "conv_1", None, 3])
def test_non_object_body(body: Any) -> None:
    error = _error(body)
    assert error.field == "body"
    assert "expected a JSON object" in str(error)


# ------------------------------------------------------- generated bodies


def test_generated_bodies_validate_against_the_official_sdk_and_map() -> None:
    """Every simulator body is a valid GetConversationResponseModel and maps cleanly."""
    elevenlabs_types = pytest.importorskip("elevenlabs.types")
    model = elevenlabs_types.GetConversationResponseModel
    seen_channels: set[str] = set()
    seen_statuses: set[Status] = set()

    for body in generate_elevenlabs_conversations(600, seed=11, agents=9):
        parsed = model.model_validate(body)
        unknown = _unknown_fields(parsed)
        assert not unknown, f"fields the SDK does not know: {unknown}"

        conv = conversation_from_elevenlabs(body)
        assert conv.provider_conversation_id == parsed.conversation_id
        assert conv.agent.provider_agent_id == parsed.agent_id
        assert conv.duration_secs == parsed.metadata.call_duration_secs
        assert len(conv.turns) == len(parsed.transcript)
        seen_channels.add(conv.channel)
        seen_statuses.add(conv.status)

    assert seen_channels == {"phone", "web", "chat", "whatsapp"}
    assert seen_statuses == set(Status)


def _unknown_fields(model: Any, path: str = "body") -> list[str]:
    """Paths of values the SDK kept as extras, i.e. keys it has no field for (typos, invented fields)."""
    from pydantic import BaseModel

    found: list[str] = []
    if isinstance(model, BaseModel):
        found += [f"{path}.{key}" for key in model.model_extra or {}]
        for name in type(model).model_fields:
            found += _unknown_fields(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for i, item in enumerate(model):
            found += _unknown_fields(item, f"{path}[{i}]")
    elif isinstance(model, dict):
        for key, item in model.items():
            found += _unknown_fields(item, f"{path}.{key}")
    return found
