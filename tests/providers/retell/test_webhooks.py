"""Retell webhooks: the x-retell-signature check, event parsing, and folding out-of-order events."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from retell.lib import webhook_auth
from starlette.datastructures import Headers

from convhub.conversations.schemas import Status
from convhub.providers.base import WebhookRejected
from convhub.providers.retell.mapper import conversation_from_retell
from convhub.providers.retell.webhooks import merge, parse, sign, stage_of, verify

# The official SDK's own verifier (untyped), to check that the signatures interoperate.
sdk_verify: Callable[[str, str, str], bool] = webhook_auth.verify

API_KEY = "key_2f8a61c0d4e94b7f9a3c5e7d1b0f6a42"
NOW = 1_749_042_500.0  # seconds
NOW_MS = int(NOW * 1000)


def full_call() -> dict[str, Any]:
    path = Path(__file__).parent / "payloads" / "phone_inbound_transferred.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def started_call() -> dict[str, Any]:
    call = full_call()
    late = {"end_timestamp", "duration_ms", "disconnection_reason", "transfer_destination", "transfer_end_timestamp",
            "transcript", "transcript_object", "transcript_with_tool_calls", "call_analysis", "call_cost",
            "llm_token_usage", "latency", "recording_url", "public_log_url", "collected_dynamic_variables"}
    return {**{k: v for k, v in call.items() if k not in late}, "call_status": "ongoing"}


def ended_call() -> dict[str, Any]:
    call = full_call()
    del call["call_analysis"]
    return call


def event_body(event: str, call: dict[str, Any]) -> bytes:
    return orjson.dumps({"event": event, "call": call})


def headers_for(body: bytes, key: str = API_KEY, timestamp_ms: int = NOW_MS) -> Headers:
    digest = hmac.new(key.encode(), body + str(timestamp_ms).encode(), hashlib.sha256).hexdigest()
    return Headers({"X-Retell-Signature": f"v={timestamp_ms},d={digest}"})


def check(headers: Headers | dict[str, str], body: bytes, *, api_key: str = API_KEY, secret: str | None = None,
          options: dict[str, Any] | None = None, now: float = NOW) -> None:
    verify(headers, body, api_key=api_key, secret=secret, options=options or {}, now=now)


# ------------------------------------------------------------------ verify


def test_a_correctly_signed_delivery_passes() -> None:
    body = event_body("call_analyzed", full_call())
    check(headers_for(body), body)


def test_sign_matches_the_official_sdk_verifier() -> None:
    body = event_body("call_ended", ended_call())
    signature = sign(body, API_KEY, NOW_MS)
    assert signature == headers_for(body)["x-retell-signature"]
    # The SDK checks freshness against the wall clock, so sign "now" for it.
    fresh = sign(body, API_KEY, int(time.time() * 1000))
    assert sdk_verify(body.decode(), API_KEY, fresh) is True
    assert sdk_verify(body.decode(), "key_someone_else", fresh) is False


def test_a_tampered_body_is_rejected() -> None:
    body = event_body("call_analyzed", full_call())
    tampered = body.replace(b'"call_successful":true', b'"call_successful":false')
    assert tampered != body
    with pytest.raises(WebhookRejected, match="does not match"):
        check(headers_for(body), tampered)


def test_a_signature_made_with_another_key_is_rejected() -> None:
    body = event_body("call_started", started_call())
    with pytest.raises(WebhookRejected, match="does not match"):
        check(headers_for(body, key="key_someone_else"), body)


def test_a_stored_secret_is_accepted_as_the_signing_key_too() -> None:
    body = event_body("call_started", started_call())
    check(headers_for(body, key="key_webhook_badge"), body, secret="key_webhook_badge")
    with pytest.raises(WebhookRejected, match="does not match"):
        check(headers_for(body, key="key_other"), body, secret="key_webhook_badge")


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    body = event_body("call_started", started_call())
    digest = headers_for(body)["x-retell-signature"].split(",d=")[1]
    with pytest.raises(WebhookRejected, match="does not match"):
        check({"x-retell-signature": f"v={NOW_MS - 1000},d={digest}"}, body)


@pytest.mark.parametrize(("offset_secs", "message"), [(-301, "s old"), (301, "in the future")])
def test_stale_and_future_timestamps_are_rejected(offset_secs: int, message: str) -> None:
    body = event_body("call_ended", ended_call())
    with pytest.raises(WebhookRejected, match=message):
        check(headers_for(body, timestamp_ms=NOW_MS + offset_secs * 1000), body)


@pytest.mark.parametrize("offset_secs", [-299, 299])
def test_timestamps_within_five_minutes_pass(offset_secs: int) -> None:
    body = event_body("call_ended", ended_call())
    check(headers_for(body, timestamp_ms=NOW_MS + offset_secs * 1000), body)


def test_the_window_can_be_set_per_connection() -> None:
    body = event_body("call_ended", ended_call())
    late = headers_for(body, timestamp_ms=NOW_MS - 120_000)
    check(late, body)
    with pytest.raises(WebhookRejected, match="older than 60 s"):
        check(late, body, options={"tolerance_secs": 60})


def test_a_missing_header_is_rejected() -> None:
    body = event_body("call_ended", ended_call())
    with pytest.raises(WebhookRejected, match="missing x-retell-signature"):
        check(Headers({"content-type": "application/json"}), body)


@pytest.mark.parametrize(
    "value",
    ["", "garbage", f"v={NOW_MS}", f"d={'a' * 64}", f"v={NOW_MS},d={'a' * 63}", f"v=abc,d={'a' * 64}",
     f"t={NOW_MS},v1={'a' * 64}", f"v={NOW_MS},d={'g' * 64}"],
)
def test_a_garbled_header_is_rejected(value: str) -> None:
    body = event_body("call_ended", ended_call())
    with pytest.raises(WebhookRejected, match="malformed x-retell-signature"):
        check({"x-retell-signature": value}, body)


def test_no_key_at_all_is_rejected() -> None:
    body = event_body("call_ended", ended_call())
    with pytest.raises(WebhookRejected, match="no API key"):
        check(headers_for(body), body, api_key="")


# ------------------------------------------------------------------ parse


@pytest.mark.parametrize(
    ("event", "call", "stage"),
    [("call_started", started_call, 1), ("transcript_updated", started_call, 2), ("call_ended", ended_call, 3),
     ("call_analyzed", full_call, 4)],
)
def test_parse_each_event(event: str, call: Any, stage: int) -> None:
    parsed = parse(event_body(event, call()))
    assert parsed.event_type == event
    assert parsed.stage == stage
    assert parsed.provider_conversation_id == "call_4b1e9c2d7a8f40e6b3d5c1a2f9e8d7c6"
    assert parsed.conversation == call()
    assert parsed.audio_base64 is None


def test_occurred_at_is_the_start_or_the_end() -> None:
    assert parse(event_body("call_started", started_call())).occurred_at is not None
    started = parse(event_body("call_started", started_call())).occurred_at
    ended = parse(event_body("call_ended", ended_call())).occurred_at
    assert started is not None and ended is not None
    assert int(started.timestamp() * 1000) == 1749042000250
    assert int(ended.timestamp() * 1000) == 1749042187900


def test_event_keys_are_stable_for_a_redelivery_and_differ_between_events() -> None:
    body = event_body("call_ended", ended_call())
    assert parse(body).event_key == parse(bytes(body)).event_key
    keys = {parse(event_body(e, full_call())).event_key for e in ("call_started", "call_ended", "call_analyzed")}
    assert len(keys) == 3
    changed = ended_call()
    changed["disconnection_reason"] = "user_hangup"
    assert parse(event_body("call_ended", changed)).event_key != parse(body).event_key


def test_an_unknown_event_with_a_call_is_kept_as_news_from_a_running_call() -> None:
    parsed = parse(event_body("transfer_started", started_call()))
    assert parsed.stage == 2 and parsed.conversation is not None


def test_an_event_without_a_call_carries_no_conversation() -> None:
    parsed = parse(orjson.dumps({"event": "chat_ended", "chat": {"chat_id": "chat_1"}}))
    assert parsed.conversation is None and parsed.provider_conversation_id is None
    assert merge(full_call(), parsed) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"event=call_ended", "body is not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"call": {"call_id": "call_1"}}', "no event name"),
        (b'{"event": "call_ended", "call": "call_1"}', "call is not a JSON object"),
        (b'{"event": "call_ended", "call": {"agent_id": "agent_1"}}', "call.call_id is missing"),
    ],
)
def test_bodies_that_are_not_retell_events_are_rejected(body: bytes, message: str) -> None:
    with pytest.raises(WebhookRejected, match=message):
        parse(body)


# ------------------------------------------------------------------ merge


def fold(*events: tuple[str, dict[str, Any]], stored: dict[str, Any] | None = None) -> dict[str, Any] | None:
    current = stored
    for event, call in events:
        current = merge(current, parse(event_body(event, call)))
    return current


def test_in_order_events_build_the_whole_call() -> None:
    merged = fold(("call_started", started_call()), ("call_ended", ended_call()), ("call_analyzed", full_call()))
    assert merged == full_call()


def test_out_of_order_events_keep_the_later_status_and_every_field() -> None:
    merged = fold(("call_analyzed", full_call()), ("call_started", started_call()), ("call_ended", ended_call()))
    assert merged is not None
    assert merged["call_status"] == "ended"
    assert merged == full_call()
    conv = conversation_from_retell(merged)
    assert conv.status is Status.done and conv.summary is not None and conv.turns


def test_a_late_ended_event_does_not_undo_the_analysis() -> None:
    merged = fold(("call_started", started_call()), ("call_analyzed", full_call()), ("call_ended", ended_call()))
    assert merged is not None and merged["call_analysis"] == full_call()["call_analysis"]


def test_an_earlier_event_only_fills_missing_fields() -> None:
    analysed = full_call()
    del analysed["metadata"]
    started = started_call()
    started["agent_name"] = "Old agent name"
    merged = fold(("call_analyzed", analysed), ("call_started", started))
    assert merged is not None
    assert merged["metadata"] == full_call()["metadata"]  # filled in
    assert merged["agent_name"] == "Northwind returns line"  # not overwritten by the earlier stage
    assert merged["call_status"] == "ended"


def test_a_later_event_overwrites_but_its_nulls_do_not_erase() -> None:
    ended = ended_call()
    analysed = full_call()
    analysed["disconnection_reason"] = "agent_hangup"
    analysed["recording_url"] = None
    merged = fold(("call_ended", ended), ("call_analyzed", analysed))
    assert merged is not None
    assert merged["disconnection_reason"] == "agent_hangup"
    assert merged["recording_url"] == ended["recording_url"]


def test_status_never_moves_back_even_for_a_same_stage_event() -> None:
    ongoing_with_transcript = {**started_call(), "transcript_object": full_call()["transcript_object"]}
    stored = {**ongoing_with_transcript, "call_status": "ended"}  # stage 3 by status
    merged = fold(("transcript_updated", ongoing_with_transcript), stored=copy.deepcopy(stored))
    assert merged is not None and merged["call_status"] == "ended"


def test_merge_onto_a_synced_call_and_onto_nothing() -> None:
    synced = full_call()
    assert fold(("call_started", started_call()), stored=copy.deepcopy(synced)) == synced
    assert fold(("call_started", started_call())) == started_call()


def test_stage_of_reads_the_object() -> None:
    assert stage_of(full_call()) == 4
    assert stage_of(ended_call()) == 3
    assert stage_of({**started_call(), "transcript_object": []}) == 1
    assert stage_of({**started_call(), "transcript_object": [{"role": "user"}]}) == 2
    assert stage_of({**started_call(), "call_status": "registered"}) == 0
