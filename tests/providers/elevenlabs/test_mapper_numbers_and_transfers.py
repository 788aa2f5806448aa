"""Phone numbers in E.164, the transfer destination, and the shared MappingError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from convhub.providers import base
from convhub.providers.elevenlabs import mapper
from convhub.providers.elevenlabs.mapper import MappingError, conversation_from_elevenlabs
from convhub.simulators.generate import generate_elevenlabs_conversations

PAYLOADS = Path(__file__).parent / "payloads"


def transferred() -> dict[str, Any]:
    """A SIP-trunk call the agent handed to a technician with the transfer_to_number system tool."""
    body: dict[str, Any] = json.loads((PAYLOADS / "transferred_call.json").read_text())
    return body


def transfer_result(body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = body["transcript"][3]["tool_results"][0]
    return result


def test_the_payload_is_what_the_official_sdk_expects() -> None:
    elevenlabs_types = pytest.importorskip("elevenlabs.types")
    parsed = elevenlabs_types.GetConversationResponseModel.model_validate(transferred())
    assert parsed.model_extra == {}
    assert parsed.transcript[3].tool_results[0].result.transfer_number == "+13035550121"


def test_mapping_error_is_the_providers_own() -> None:
    assert mapper.MappingError is base.MappingError
    with pytest.raises(base.MappingError) as info:
        conversation_from_elevenlabs({"conversation_id": "conv_1"})
    assert info.value.field == "agent_id"
    assert info.value.conversation_id == "conv_1"


def test_numbers_are_normalised_to_e164() -> None:
    conv = conversation_from_elevenlabs(transferred())

    assert conv.channel == "phone"
    assert conv.customer_number == "+16175550148"  # sent as "+1 (617) 555-0148"
    assert conv.agent_number == "+13035550120"  # sent without the plus


def test_a_sip_uri_is_kept_as_given() -> None:
    body = transferred()
    body["metadata"]["phone_call"]["external_number"] = " sip:caller@pbx.example.com "
    body["metadata"]["phone_call"]["agent_number"] = ""

    conv = conversation_from_elevenlabs(body)

    assert conv.customer_number == "sip:caller@pbx.example.com"
    assert conv.agent_number is None


def test_successful_transfer_sets_the_destination() -> None:
    conv = conversation_from_elevenlabs(transferred())

    assert conv.transfer_to == "+13035550121"
    assert conv.termination_reason == "Call transferred to a human agent."
    assert conv.turns[3].tool_results[0]["tool_name"] == "transfer_to_number"


def test_transfer_destination_is_normalised() -> None:
    body = transferred()
    transfer_result(body)["result"]["transfer_number"] = "1 303 555 0121"
    assert conversation_from_elevenlabs(body).transfer_to == "+13035550121"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("sip:+13035550121@pbx.example.com", "+13035550121"),
        ("sips:13035550121@pbx.example.com;transport=tls", "+13035550121"),
        ("sip:support-desk@pbx.example.com", "sip:support-desk@pbx.example.com"),
    ],
)
def test_a_sip_destination_is_read_as_its_number(target: str, expected: str) -> None:
    body = transferred()
    transfer_result(body)["result"]["transfer_number"] = target
    assert conversation_from_elevenlabs(body).transfer_to == expected


def test_the_json_text_is_read_when_the_parsed_result_is_absent() -> None:
    body = transferred()
    del transfer_result(body)["result"]
    assert conversation_from_elevenlabs(body).transfer_to == "+13035550121"


def test_a_success_without_a_number_uses_the_number_asked_for() -> None:
    body = transferred()
    transfer_result(body)["result"] = {"result_type": "transfer_to_number_amazon_connect_success", "status": None}
    assert conversation_from_elevenlabs(body).transfer_to == "+13035550121"


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(is_error=True),
        lambda r: r.update(result={"result_type": "transfer_to_number_error", "status": "error", "error": "busy"}),
        lambda r: r.update(result={"result_type": "transfer_to_number_error", "error": "no route"}),
        lambda r: (r.pop("result"), r.update(result_value="Transfer failed: line busy")),
        lambda r: r.update(tool_name="transfer_to_agent"),
    ],
    ids=["is_error", "status-error", "error-type", "free-text", "other-tool"],
)
def test_a_failed_or_other_tool_result_is_no_transfer(change: Any) -> None:
    body = transferred()
    change(transfer_result(body))
    assert conversation_from_elevenlabs(body).transfer_to is None


def test_the_last_successful_transfer_wins() -> None:
    body = transferred()
    first = json.loads(json.dumps(body["transcript"][3]))
    first["tool_results"][0].update(
        is_error=True, result={"result_type": "transfer_to_number_error", "status": "error", "error": "busy"}
    )
    earlier = json.loads(json.dumps(body["transcript"][3]))
    earlier["tool_results"][0]["result"]["transfer_number"] = "+13035550199"
    body["transcript"][3:3] = [earlier, first]

    assert conversation_from_elevenlabs(body).transfer_to == "+13035550121"


def test_a_transfer_number_of_the_wrong_type_names_the_field() -> None:
    body = transferred()
    transfer_result(body)["result"]["transfer_number"] = 13035550121

    with pytest.raises(MappingError) as info:
        conversation_from_elevenlabs(body)

    assert info.value.field == "transcript[3].tool_results[0].result.transfer_number"
    assert "expected a string, got integer" in str(info.value)


def test_a_result_that_is_not_an_object_names_the_field() -> None:
    body = transferred()
    transfer_result(body)["result"] = "success"

    with pytest.raises(MappingError) as info:
        conversation_from_elevenlabs(body)

    assert info.value.field == "transcript[3].tool_results[0].result"


def test_generated_transfers_are_found_and_only_those() -> None:
    transfers = 0
    for body in generate_elevenlabs_conversations(400, seed=5):
        conv = conversation_from_elevenlabs(body)
        tools = {c.get("tool_name") for t in body["transcript"] for c in t["tool_calls"]}
        if "transfer_to_number" in tools and body["status"] == "done":
            transfers += 1
            assert conv.transfer_to is not None and conv.transfer_to.startswith("+1")
            assert conv.transfer_to != conv.agent_number
        elif "transfer_to_number" not in tools:
            assert conv.transfer_to is None
    assert transfers > 0
