"""ElevenLabs webhooks: signature and freshness, parsing of each event, out-of-order merging."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Headers

from convhub.conversations.schemas import Direction, Status
from convhub.providers.base import WebhookEvent, WebhookRejected
from convhub.providers.elevenlabs import webhooks
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "wsec_5f0c9a7e1d3b4c2a8e6f"
NOW = 1_749_218_500.0


def payload(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return body


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def signature(body: bytes, *, secret: str = SECRET, t: int | str = int(NOW)) -> str:
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v0={digest}"


def verify(headers: dict[str, str], body: bytes, *, secret: str | None = SECRET, now: float = NOW) -> None:
    webhooks.verify(Headers(headers), body, api_key="xi-unused", secret=secret, options={}, now=now)


def rejection(headers: dict[str, str], body: bytes, **kwargs: Any) -> str:
    with pytest.raises(WebhookRejected) as info:
        verify(headers, body, **kwargs)
    return info.value.message


# ------------------------------------------------------------------ verify


def test_a_correctly_signed_delivery_passes() -> None:
    body = raw("post_call_transcription")
    verify({"ElevenLabs-Signature": signature(body)}, body)


def test_a_plain_dict_with_any_header_case_passes() -> None:
    body = raw("post_call_audio")
    webhooks.verify({"ELEVENLABS-SIGNATURE": signature(body)}, body, api_key="k", secret=SECRET, options={}, now=NOW)


def test_one_matching_signature_among_several_passes() -> None:
    body = raw("post_call_audio")
    good = signature(body).split(",")[1]
    stale = signature(body, secret="the-previous-secret").split(",")[1]
    verify({"elevenlabs-signature": f"t={int(NOW)},{stale},{good}"}, body)


def test_a_tampered_body_is_rejected() -> None:
    body = raw("post_call_transcription")
    tampered = body.replace(b'"status": "done"', b'"status": "failed"')
    assert tampered != body
    message = rejection({"elevenlabs-signature": signature(body)}, tampered)
    assert message == "signature does not match: wrong webhook secret, or the body was altered"


def test_the_wrong_secret_is_rejected() -> None:
    body = raw("post_call_audio")
    message = rejection({"elevenlabs-signature": signature(body, secret="someone-else")}, body)
    assert "signature does not match" in message


def test_a_signature_for_another_timestamp_is_rejected() -> None:
    body = raw("post_call_audio")
    digest = signature(body, t=int(NOW) - 60).split(",")[1]
    assert "signature does not match" in rejection({"elevenlabs-signature": f"t={int(NOW)},{digest}"}, body)


@pytest.mark.parametrize("age", [0, 60, 29 * 60, 30 * 60])
def test_recent_deliveries_pass(age: int) -> None:
    body = raw("post_call_audio")
    verify({"elevenlabs-signature": signature(body, t=int(NOW) - age)}, body)


def test_a_delivery_older_than_30_minutes_is_rejected() -> None:
    body = raw("post_call_audio")
    message = rejection({"elevenlabs-signature": signature(body, t=int(NOW) - 31 * 60)}, body)
    assert message == "signature timestamp is 1860 seconds old; deliveries older than 30 minutes are refused"


@pytest.mark.parametrize("ahead", [1, 4 * 60, 5 * 60])
def test_slight_clock_skew_passes(ahead: int) -> None:
    body = raw("post_call_audio")
    verify({"elevenlabs-signature": signature(body, t=int(NOW) + ahead)}, body)


def test_a_delivery_more_than_5_minutes_ahead_is_rejected() -> None:
    body = raw("post_call_audio")
    message = rejection({"elevenlabs-signature": signature(body, t=int(NOW) + 6 * 60)}, body)
    assert message.startswith("signature timestamp is 360 seconds in the future")


def test_a_missing_header_is_rejected() -> None:
    body = raw("post_call_audio")
    assert rejection({"x-signature": signature(body)}, body) == "missing ElevenLabs-Signature header"
    assert rejection({"elevenlabs-signature": "  "}, body) == "missing ElevenLabs-Signature header"


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "v0=" + "a" * 64,
        f"t={int(NOW)}",
        f"t=soon,v0={'a' * 64}",
        f"t={int(NOW)},v0=not-hex",
        f"t={int(NOW)},v0={'a' * 63}",
        f"t={int(NOW)},t={int(NOW)},v0={'a' * 64}",
        f"t={int(NOW)};v0={'a' * 64}",
    ],
)
def test_a_garbled_header_is_rejected(header: str) -> None:
    message = rejection({"elevenlabs-signature": header}, raw("post_call_audio"))
    assert message.startswith("malformed ElevenLabs-Signature header")


@pytest.mark.parametrize("secret", [None, ""])
def test_without_a_secret_nothing_is_accepted(secret: str | None) -> None:
    body = raw("post_call_audio")
    message = rejection({"elevenlabs-signature": signature(body)}, body, secret=secret)
    assert message == "no webhook secret configured for this connection"


# ------------------------------------------------------------------ parse


def test_parse_transcription() -> None:
    event = webhooks.parse(raw("post_call_transcription"))

    assert event.event_type == "post_call_transcription"
    assert event.provider_conversation_id == "conv_01jxa3m8p4q2r6s9t1v5w7x0y3"
    assert event.stage == webhooks.STAGE_TRANSCRIPTION
    assert event.conversation == payload("transferred_call")
    assert event.occurred_at == datetime.fromtimestamp(1_749_218_455, UTC)
    assert event.audio_base64 is None
    assert conversation_from_elevenlabs(event.conversation).status is Status.done


def test_parse_audio() -> None:
    event = webhooks.parse(raw("post_call_audio"))

    assert event.event_type == "post_call_audio"
    assert event.provider_conversation_id == "conv_01jxa3m8p4q2r6s9t1v5w7x0y3"
    assert event.conversation is None
    assert event.stage == webhooks.STAGE_AUDIO
    assert base64.b64decode(event.audio_base64 or "").startswith(b"ID3")
    assert event.extra == {"agent_id": "agent_01jwb8k3f2m9q4r7t6v5x0y1z2"}


def test_parse_call_initiation_failure_builds_a_failed_call() -> None:
    event = webhooks.parse(raw("call_initiation_failure"))

    assert event.event_type == "call_initiation_failure"
    assert event.stage == webhooks.STAGE_INITIATION_FAILURE
    assert event.extra == {"failure_reason": "busy"}
    assert event.conversation is not None
    conv = conversation_from_elevenlabs(event.conversation)
    assert conv.provider_conversation_id == "conv_01jxa5c2d8e4f6g0h2j4k6m8n0"
    assert conv.agent.provider_agent_id == "agent_01jwb8k3f2m9q4r7t6v5x0y1z2"
    assert conv.status is Status.failed
    assert conv.started_at == datetime.fromtimestamp(1_749_220_200, UTC)
    assert conv.ended_at == conv.started_at
    assert conv.duration_secs == 0
    assert conv.termination_reason == "Call initiation failed: busy"
    assert conv.turns == []
    assert conv.has_audio is False
    # The numbers come from the Twilio status callback the event forwards.
    assert conv.channel == "phone"
    assert conv.direction is Direction.outbound
    assert conv.customer_number == "+16175550148"
    assert conv.agent_number == "+13035550120"


def test_a_failure_without_twilio_details_is_dated_by_its_metadata_or_the_event() -> None:
    body = payload("call_initiation_failure")
    body["data"]["metadata"] = {"type": "sip", "body": {"sip_status_code": 486, "error_reason": "Busy Here"}}
    event = webhooks.parse(json.dumps(body).encode())
    assert event.conversation is not None
    conv = conversation_from_elevenlabs(event.conversation)
    assert conv.started_at == datetime.fromtimestamp(1_749_220_200, UTC)
    assert conv.channel == "web"  # no numbers to tell the line by
    assert event.conversation["call_initiation_failure"]["metadata"]["body"]["sip_status_code"] == 486

    body["data"]["metadata"]["start_time_unix_secs"] = 1_749_220_100
    event = webhooks.parse(json.dumps(body).encode())
    assert event.conversation is not None
    assert conversation_from_elevenlabs(event.conversation).started_at == datetime.fromtimestamp(1_749_220_100, UTC)


def test_an_unknown_event_type_is_accepted_without_a_conversation() -> None:
    body = {
        "type": "answering_machine_detection",
        "event_timestamp": 1_749_220_000,
        "data": {"conversation_id": "conv_x", "result": "machine"},
    }
    event = webhooks.parse(json.dumps(body).encode())
    assert event.conversation is None
    assert event.provider_conversation_id == "conv_x"
    assert webhooks.merge(None, event) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>hello</html>", "body is not JSON"),
        (b"", "body is not JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'{"data": {}}', "body has no event 'type': not an ElevenLabs webhook event"),
        (b'{"type": "post_call_audio"}', "post_call_audio event has no 'data' object"),
        (
            b'{"type": "post_call_audio", "event_timestamp": "today", "data": {}}',
            "post_call_audio event: event_timestamp is not a number",
        ),
        (
            b'{"type": "post_call_transcription", "data": {"agent_id": "a"}}',
            "post_call_transcription event has no data.conversation_id",
        ),
        (
            b'{"type": "post_call_audio", "data": {"conversation_id": "c"}}',
            "post_call_audio event has no data.full_audio",
        ),
        (
            b'{"type": "call_initiation_failure", "data": {"conversation_id": "c", "failure_reason": "busy"}}',
            "call_initiation_failure event has neither event_timestamp nor a start time",
        ),
    ],
)
def test_parse_rejects_what_is_not_an_event(body: bytes, message: str) -> None:
    with pytest.raises(WebhookRejected) as info:
        webhooks.parse(body)
    assert info.value.message == message


def test_a_redelivery_has_the_same_key_whatever_its_formatting() -> None:
    body = payload("post_call_transcription")
    again = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    assert webhooks.parse(raw("post_call_transcription")).event_key == webhooks.parse(again).event_key


def test_different_content_has_different_keys() -> None:
    keys = {
        webhooks.parse(raw(name)).event_key
        for name in ("post_call_transcription", "post_call_audio", "call_initiation_failure")
    }
    reanalysed = payload("post_call_transcription")
    reanalysed["data"]["analysis"]["call_successful"] = "success"
    keys.add(webhooks.parse(json.dumps(reanalysed).encode()).event_key)
    assert len(keys) == 4


# ------------------------------------------------------------------ merge


def event(name: str, change: Any = None) -> WebhookEvent:
    body = payload(name)
    if change is not None:
        change(body)
    return webhooks.parse(json.dumps(body).encode())


def test_the_first_event_is_taken_as_it_is() -> None:
    transcription = event("post_call_transcription")
    merged = webhooks.merge(None, transcription)
    assert merged == transcription.conversation
    assert merged is not transcription.conversation


def test_audio_carries_no_conversation() -> None:
    assert webhooks.merge(None, event("post_call_audio")) is None
    assert webhooks.merge(payload("transferred_call"), event("post_call_audio")) is None


def same_call(body: dict[str, Any]) -> None:
    """The initiation failure of the conversation the transcription payload is about."""
    body["data"]["conversation_id"] = "conv_01jxa3m8p4q2r6s9t1v5w7x0y3"


def test_a_late_initiation_failure_does_not_replace_the_transcription() -> None:
    stored = webhooks.merge(None, event("post_call_transcription"))
    assert stored is not None
    before = copy.deepcopy(stored)

    merged = webhooks.merge(stored, event("call_initiation_failure", same_call))

    assert merged == before  # every field the transcription had, nothing of the failure's own
    assert stored == before  # and the stored object itself is untouched
    conv = conversation_from_elevenlabs(merged)
    assert conv.status is Status.done
    assert len(conv.turns) == 4
    assert conv.summary is not None and conv.transfer_to == "+13035550121"


def test_a_late_initiation_failure_fills_only_what_is_missing() -> None:
    def no_phone(body: dict[str, Any]) -> None:
        body["data"]["metadata"]["phone_call"] = None
        del body["data"]["metadata"]["termination_reason"]

    stored = webhooks.merge(None, event("post_call_transcription", no_phone))
    assert stored is not None

    merged = webhooks.merge(stored, event("call_initiation_failure", same_call))

    assert merged is not None
    assert merged["status"] == "done"
    assert merged["metadata"]["phone_call"]["external_number"] == "+16175550148"
    assert merged["metadata"]["termination_reason"] == "Call initiation failed: busy"
    assert merged["metadata"]["start_time_unix_secs"] == 1_749_218_400  # the transcription's own
    assert merged["metadata"]["call_duration_secs"] == 14
    assert "call_initiation_failure" not in merged


def test_a_transcription_after_a_failure_wins() -> None:
    stored = webhooks.merge(None, event("call_initiation_failure", same_call))
    assert stored is not None and stored["status"] == "failed"

    merged = webhooks.merge(stored, event("post_call_transcription"))

    assert merged is not None
    assert "call_initiation_failure" not in merged  # no longer a built failure: stage 2 from now on
    conv = conversation_from_elevenlabs(merged)
    assert conv.status is Status.done
    assert conv.duration_secs == 14 and len(conv.turns) == 4
    assert conv.termination_reason == "Call transferred to a human agent."

    # ... and the failure, redelivered afterwards, changes nothing.
    assert webhooks.merge(merged, event("call_initiation_failure", same_call)) == merged


def test_the_status_never_moves_back() -> None:
    stored = payload("transferred_call")  # filed by a sync as done

    def reprocessing(body: dict[str, Any]) -> None:
        body["data"]["status"] = "processing"
        body["data"]["analysis"] = None
        body["data"]["metadata"]["call_duration_secs"] = 15

    merged = webhooks.merge(stored, event("post_call_transcription", reprocessing))

    assert merged is not None
    assert merged["status"] == "done"
    assert merged["analysis"] == stored["analysis"]  # a null never erases what is known
    assert merged["metadata"]["call_duration_secs"] == 15  # the event's values win otherwise


def test_a_transcription_moves_an_open_conversation_forward() -> None:
    stored = payload("transferred_call")
    stored.update(status="in-progress", analysis=None)
    merged = webhooks.merge(stored, event("post_call_transcription"))
    assert merged is not None
    assert merged["status"] == "done"
    assert merged["analysis"]["call_summary_title"] == "Transferred to a technician"
