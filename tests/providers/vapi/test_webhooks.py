"""Vapi server messages: both authentication plans, parsing, and out-of-order merging."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from convhub.conversations.schemas import CallSuccessful, Status
from convhub.providers.base import WebhookEvent, WebhookRejected
from convhub.providers.vapi.mapper import conversation_from_vapi
from convhub.providers.vapi.webhooks import merge, parse, verify
from convhub.simulators.vapi import VENDOR

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "whsec-7f3a9c1e5b"
NOW = 1_749_042_200.0  # 2025-06-04 13:03:20 UTC


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def sign(
    body: bytes, *, secret: str = SECRET, timestamp: str | None = None, algorithm: str = "sha256",
    encoding: str = "hex", payload_format: str = "{timestamp}.{body}", prefix: str = "",
) -> dict[str, str]:
    """Headers of a delivery signed the way a Vapi HMAC plan describes (written independently of the verifier)."""
    stamp = timestamp if timestamp is not None else str(int(NOW * 1000))
    payload = payload_format.replace("{timestamp}", stamp).encode().replace(b"{body}", body)
    digest = hmac.new(secret.encode(), payload, getattr(hashlib, algorithm)).digest()
    signature = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    return {"x-signature": prefix + signature, "x-timestamp": stamp}


def check(headers: dict[str, str], body: bytes, options: dict[str, Any] | None = None,
          secret: str | None = SECRET, now: float = NOW) -> None:
    verify(headers, body, api_key="private-key", secret=secret, options=options or {}, now=now)


# ----------------------------------------------------------------------- HMAC


def test_default_plan_accepts_a_valid_signature() -> None:
    body = raw("webhook_end_of_call_report")
    check(sign(body), body)


def test_header_names_are_matched_whatever_their_case() -> None:
    body = raw("webhook_end_of_call_report")
    headers = {k.upper(): v for k, v in sign(body).items()}
    check(headers, body)


def test_tampered_body_is_rejected() -> None:
    body = raw("webhook_end_of_call_report")
    headers = sign(body)
    with pytest.raises(WebhookRejected, match="signature mismatch"):
        check(headers, body.replace(b'"cost": 0.0982', b'"cost": 0.0001'))


def test_wrong_secret_is_rejected() -> None:
    body = raw("webhook_end_of_call_report")
    with pytest.raises(WebhookRejected, match="signature mismatch"):
        check(sign(body, secret="someone-else"), body)


def test_signature_over_a_different_timestamp_is_rejected() -> None:
    body = raw("webhook_end_of_call_report")
    headers = sign(body)
    headers["x-timestamp"] = str(int(NOW * 1000) + 1)
    with pytest.raises(WebhookRejected, match="signature mismatch"):
        check(headers, body)


@pytest.mark.parametrize(("offset", "message"), [(-301, "older than 5 minutes"), (301, "in the future")])
def test_stale_and_future_timestamps_are_rejected(offset: int, message: str) -> None:
    body = raw("webhook_end_of_call_report")
    headers = sign(body, timestamp=str(int((NOW + offset) * 1000)))
    with pytest.raises(WebhookRejected, match=message):
        check(headers, body)


@pytest.mark.parametrize("offset", [-299, 299])
def test_timestamps_within_five_minutes_pass(offset: int) -> None:
    body = raw("webhook_end_of_call_report")
    check(sign(body, timestamp=str(int((NOW + offset) * 1000))), body)


def test_timestamp_in_seconds_is_accepted() -> None:
    body = raw("webhook_end_of_call_report")
    check(sign(body, timestamp=str(int(NOW))), body)
    with pytest.raises(WebhookRejected, match="older than 5 minutes"):
        check(sign(body, timestamp=str(int(NOW) - 600)), body)


@pytest.mark.parametrize("missing", ["x-signature", "x-timestamp"])
def test_missing_headers_are_rejected(missing: str) -> None:
    body = raw("webhook_end_of_call_report")
    headers = sign(body)
    del headers[missing]
    with pytest.raises(WebhookRejected, match=f"missing {missing} header"):
        check(headers, body)


@pytest.mark.parametrize(("signature", "message"), [("zz-not-hex", "not hex"), ("", "signature mismatch")])
def test_garbled_signatures_are_rejected(signature: str, message: str) -> None:
    body = raw("webhook_end_of_call_report")
    headers = sign(body)
    headers["x-signature"] = signature
    with pytest.raises(WebhookRejected, match=message):
        check(headers, body)


@pytest.mark.parametrize("stamp", ["Wed, 04 Jun 2025 13:03:20 GMT", "nan", "inf"])
def test_non_numeric_timestamp_is_rejected(stamp: str) -> None:
    body = raw("webhook_end_of_call_report")
    headers = sign(body, timestamp=stamp)
    with pytest.raises(WebhookRejected, match="not a Unix time"):
        check(headers, body)


def test_custom_plan_sha512_base64_prefix_and_headers() -> None:
    body = raw("webhook_status_update_in_progress")
    signed = sign(body, algorithm="sha512", encoding="base64", prefix="sha512=")
    headers = {"x-vapi-signature": signed["x-signature"], "x-vapi-timestamp": signed["x-timestamp"]}
    options = {"mode": "hmac", "algorithm": "sha512", "encoding": "base64", "signature_prefix": "sha512=",
               "signature_header": "X-Vapi-Signature", "timestamp_header": "x-vapi-timestamp"}
    check(headers, body, options)
    headers["x-vapi-signature"] = signed["x-signature"].removeprefix("sha512=")
    with pytest.raises(WebhookRejected, match="does not start with 'sha512='"):
        check(headers, body, options)


def test_vapi_camel_case_plan_names_are_understood() -> None:
    body = raw("webhook_status_update_in_progress")
    signed = sign(body, algorithm="sha1", encoding="base64")
    options = {"algorithm": "sha1", "signatureEncoding": "base64", "signatureHeader": "x-hook-sig"}
    check({"x-hook-sig": signed["x-signature"], "x-timestamp": signed["x-timestamp"]}, body, options)


def test_body_only_payload_needs_no_timestamp() -> None:
    body = raw("webhook_status_update_in_progress")
    headers = {"x-signature": sign(body, payload_format="{body}")["x-signature"]}
    check(headers, body, {"payload_format": "{body}"}, now=NOW + 86_400)  # no clock in the signature
    check(headers, body, {"include_timestamp": False}, now=NOW + 86_400)


def test_base64_secret_is_decoded() -> None:
    body = raw("webhook_status_update_in_progress")
    key = b"\x00\x01binary-key\xff"
    stamp = str(int(NOW * 1000))
    signature = hmac.new(key, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"x-signature": signature, "x-timestamp": stamp}
    check(headers, body, {"secret_is_base64": True}, secret=base64.b64encode(key).decode())


def test_url_and_message_id_placeholders() -> None:
    body = raw("webhook_status_update_in_progress")
    url = "https://hub.example.com/v1/webhooks/vapi"
    payload_format = "{svix-id}.{timestamp}.{method}.{url}.{body}"
    stamp = str(int(NOW * 1000))
    payload = f"msg_01.{stamp}.POST.{url}.".encode() + body
    headers = {"x-signature": hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest(),
               "x-timestamp": stamp, "webhook-id": "msg_01"}
    options = {"payload_format": payload_format, "message_id_header": "webhook-id", "url": url}
    check(headers, body, options)
    with pytest.raises(WebhookRejected, match="set the url option"):
        check(headers, body, {"payload_format": payload_format, "message_id_header": "webhook-id"})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"algorithm": "md5"}, "unsupported HMAC algorithm"),
        ({"encoding": "base32"}, "unsupported signature encoding"),
        ({"mode": "mtls"}, "unknown webhook mode"),
        ({"signature_header": 7}, "must be a string"),
    ],
)
def test_unusable_options_are_rejected(options: dict[str, Any], message: str) -> None:
    body = raw("webhook_status_update_in_progress")
    with pytest.raises(WebhookRejected, match=message):
        check(sign(body), body, options)


def test_no_secret_configured_is_rejected() -> None:
    body = raw("webhook_status_update_in_progress")
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        check(sign(body), body, secret=None)


# ----------------------------------------------------------------------- bearer


def test_bearer_token_in_authorization() -> None:
    body = raw("webhook_status_update_in_progress")
    check({"authorization": f"Bearer {SECRET}"}, body, {"mode": "bearer"})


def test_bare_secret_in_a_custom_header() -> None:
    body = raw("webhook_status_update_in_progress")
    check({"X-Vapi-Secret": SECRET}, body, {"mode": "bearer", "header": "x-vapi-secret"})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"authorization": "Bearer not-the-secret"}, "does not carry this connection's secret"),
        ({"authorization": f"Bearer {SECRET}x"}, "does not carry"),
        ({}, "missing authorization header"),
    ],
)
def test_bearer_rejections(headers: dict[str, str], message: str) -> None:
    body = raw("webhook_status_update_in_progress")
    with pytest.raises(WebhookRejected, match=message):
        check(headers, body, {"mode": "bearer"})


def test_hmac_connection_ignores_a_bearer_header() -> None:
    body = raw("webhook_status_update_in_progress")
    with pytest.raises(WebhookRejected, match="missing x-signature header"):
        check({"authorization": f"Bearer {SECRET}"}, body)


# ----------------------------------------------------------------------- parse


def test_parse_status_update() -> None:
    event = parse(raw("webhook_status_update_in_progress"))
    assert event.event_type == "status-update"
    assert event.provider_conversation_id == "6b1f2e3d-4c5b-4a69-8788-9a0b1c2d3e4f"
    assert event.stage == 3
    assert event.occurred_at == datetime(2025, 6, 4, 13, 0, 2, 300_000, tzinfo=UTC)
    assert event.conversation is not None
    assert event.conversation["status"] == "in-progress"  # the message's status, not the stale call object's
    assert event.conversation["phoneNumber"]["number"] == "+14155550100"
    assert event.extra == {"status": "in-progress"}


def test_parse_end_of_call_report_folds_the_report_into_the_call() -> None:
    event = parse(raw("webhook_end_of_call_report"))
    assert (event.event_type, event.stage) == ("end-of-call-report", 5)
    conv = event.conversation
    assert conv is not None
    assert conv["status"] == "ended"
    assert conv["endedReason"] == "customer-ended-call"
    assert conv["cost"] == 0.0982
    assert conv["endedAt"] == "2025-06-04T13:01:28.410Z"
    assert len(conv["artifact"]["messages"]) == 2
    assert conv["analysis"]["successEvaluation"] == "true"

    mapped = conversation_from_vapi(conv)
    assert mapped.status == Status.done
    assert mapped.call_successful == CallSuccessful.success
    assert mapped.duration_secs == 86
    assert mapped.agent_number == "+14155550100"
    assert mapped.has_audio


def test_stages_order_the_status_updates() -> None:
    stages = {}
    for status in ("queued", "ringing", "in-progress", "forwarding", "ended"):
        body = json.dumps({"message": {"type": "status-update", "status": status, "call": {"id": "c1"}}}).encode()
        stages[status] = parse(body).stage
    assert stages["queued"] < stages["ringing"] < stages["in-progress"] <= stages["forwarding"] < stages["ended"]
    assert stages["ended"] < parse(raw("webhook_end_of_call_report")).stage


def test_other_server_messages_carry_no_conversation() -> None:
    body = json.dumps({"message": {"type": "conversation-update", "timestamp": 1749042003000,
                                   "call": {"id": "c1", "status": "in-progress"}, "messages": []}}).encode()
    event = parse(body)
    assert (event.event_type, event.provider_conversation_id, event.conversation) == ("conversation-update", "c1", None)


def test_event_key_is_stable_for_a_redelivery_and_differs_otherwise() -> None:
    body = raw("webhook_end_of_call_report")
    assert parse(body).event_key == parse(bytes(body)).event_key
    assert parse(body).event_key != parse(body.replace(b"0.0982", b"0.0983")).event_key
    assert parse(body).event_key != parse(raw("webhook_status_update_ended")).event_key


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<xml/>", "body is not JSON"),
        (b"[1, 2]", "not a Vapi server message"),
        (b'{"type": "status-update"}', "not a Vapi server message"),
        (b'{"message": {"call": {"id": "c1"}}}', '"message.type" is missing'),
        (b'{"message": {"type": "status-update", "call": "c1"}}', '"message.call" is not an object'),
        (b'{"message": {"type": "status-update", "status": 3, "call": {"id": "c1"}}}', "not a string"),
    ],
)
def test_parse_rejects_what_is_not_a_vapi_event(body: bytes, message: str) -> None:
    with pytest.raises(WebhookRejected, match=message):
        parse(body)


# ----------------------------------------------------------------------- merge


def events() -> tuple[WebhookEvent, WebhookEvent, WebhookEvent]:
    return (parse(raw("webhook_status_update_in_progress")), parse(raw("webhook_status_update_ended")),
            parse(raw("webhook_end_of_call_report")))


def fold(order: list[WebhookEvent]) -> dict[str, Any] | None:
    stored: dict[str, Any] | None = None
    for event in order:
        stored = merge(stored, event)
    return stored


def test_merge_in_order_ends_with_the_full_report() -> None:
    live, ended, report = events()
    merged = fold([live, ended, report])
    assert merged is not None
    assert merged["status"] == "ended"
    assert merged["analysis"]["summary"].startswith("The caller's order")
    assert merged["phoneNumber"]["number"] == "+14155550100"  # only the first status-update carried it


@pytest.mark.parametrize("order", [(2, 1, 0), (2, 0, 1), (1, 2, 0), (0, 2, 1), (1, 0, 2)])
def test_merge_out_of_order_keeps_the_latest_status_and_every_field(order: tuple[int, int, int]) -> None:
    all_events = events()
    merged = fold([all_events[i] for i in order])
    in_order = fold(list(all_events))
    assert merged is not None and in_order is not None
    assert merged["status"] == "ended"
    assert merged["endedReason"] == "customer-ended-call"
    assert merged["endedAt"] == "2025-06-04T13:01:28.410Z"
    assert len(merged["artifact"]["messages"]) == 2
    assert merged["analysis"]["successEvaluation"] == "true"
    assert merged["phoneNumber"]["number"] == "+14155550100"
    assert conversation_from_vapi(merged).model_dump(exclude={"raw", "source_updated_at"}) == \
        conversation_from_vapi(in_order).model_dump(exclude={"raw", "source_updated_at"})


def test_late_earlier_event_only_fills_missing_fields() -> None:
    live, _, report = events()
    stored = merge(None, report)
    assert stored is not None
    stored.pop("phoneNumber")
    merged = merge(stored, live)
    assert merged is not None
    assert merged["status"] == "ended"
    assert merged["updatedAt"] == stored["updatedAt"]
    assert merged["phoneNumber"]["number"] == "+14155550100"


def test_merge_onto_an_api_body_keeps_its_transcript() -> None:
    stored = json.loads(raw("call_ended_inbound"))
    body = json.dumps({"message": {"type": "status-update", "status": "in-progress",
                                   "call": {"id": stored["id"], "status": "in-progress"}}}).encode()
    merged = merge(stored, parse(body))
    assert merged == stored


def test_merge_of_an_event_without_a_call_is_none() -> None:
    body = json.dumps({"message": {"type": "transcript", "role": "user", "transcript": "hello"}}).encode()
    assert merge({"id": "c1", "status": "ended"}, parse(body)) is None


def test_merge_does_not_modify_what_it_is_given() -> None:
    live, _, report = events()
    stored = merge(None, report)
    assert stored is not None
    snapshot = json.dumps(stored, sort_keys=True)
    merge(stored, live)
    assert json.dumps(stored, sort_keys=True) == snapshot


# ----------------------------------------------------------------------- the simulator's deliveries


def test_simulated_deliveries_verify_parse_and_merge() -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    call = next(c for i in range(40)
                if (c := VENDOR.generate(i, seed=3, agents=3, start=start, span_days=5))["status"] == "ended"
                and c.get("startedAt"))
    now = datetime(2025, 6, 10, tzinfo=UTC)
    deliveries = VENDOR.webhook_deliveries(call, SECRET, now)
    assert len(deliveries) == 3
    parsed = []
    for headers, body in deliveries:
        verify(headers, body, api_key="k", secret=SECRET, options={}, now=now.timestamp())
        parsed.append(parse(body))
    assert [(e.event_type, e.stage) for e in parsed] == [
        ("status-update", 3), ("status-update", 4), ("end-of-call-report", 5),
    ]
    merged = fold(list(reversed(parsed)))
    assert merged is not None
    expected = conversation_from_vapi(call).model_dump(exclude={"raw"})
    assert conversation_from_vapi(merged).model_dump(exclude={"raw"}) == expected
