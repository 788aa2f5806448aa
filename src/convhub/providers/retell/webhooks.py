"""Retell's webhooks: signature check on the raw bytes, event parsing, and folding events into one call.

Retell signs each delivery with the account's API key (the one with the webhook
badge): ``x-retell-signature: v=<unix ms>,d=<hex>`` where ``hex`` is
HMAC-SHA256 over the raw body followed by the decimal timestamp. A delivery
older or newer than five minutes is refused, so a captured one cannot be replayed.

The body is ``{"event": …, "call": {…}}``: ``call_started`` when the call
connects, ``transcript_updated`` while it runs, ``call_ended`` when it hangs up
and ``call_analyzed`` once the post-call analysis is done. Each carries the
whole call object as it was at that moment, and deliveries may arrive out of
order, so :func:`merge` lets the later stage win field by field and an earlier
one only fill gaps.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from convhub.providers.base import WebhookEvent, WebhookRejected

__all__ = ["SIGNATURE_HEADER", "TOLERANCE_SECS", "merge", "parse", "sign", "stage_of", "verify"]

SIGNATURE_HEADER = "x-retell-signature"
TOLERANCE_SECS = 5 * 60

STAGES = {"call_started": 1, "transcript_updated": 2, "call_ended": 3, "call_analyzed": 4}
# Events Retell may add later that still carry a call: treated as news from a call under way.
_UNKNOWN_EVENT_STAGE = 2
_STATUS_RANK = {"registered": 0, "ongoing": 1, "ended": 2, "error": 2, "not_connected": 2}
_SIGNATURE = re.compile(r"v=(\d{1,16}),d=([0-9a-fA-F]{64})")


def sign(body: bytes, key: str, timestamp_ms: int) -> str:
    """The ``x-retell-signature`` value Retell sends for ``body`` at ``timestamp_ms``."""
    return f"v={timestamp_ms},d={_digest(body, key, timestamp_ms)}"


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    api_key: str,
    secret: str | None,
    options: Mapping[str, Any],
    now: float,
) -> None:
    """Raise :class:`WebhookRejected` unless ``body`` was signed by the account within the tolerance.

    The key is the connection's API key; a ``secret`` stored on the connection is
    accepted too (for accounts whose webhook-badged key is not the one used for
    the API). ``options["tolerance_secs"]`` overrides the five-minute window.
    """
    header = headers.get(SIGNATURE_HEADER)
    if header is None:
        raise WebhookRejected(f"missing {SIGNATURE_HEADER} header")
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        raise WebhookRejected(f"malformed {SIGNATURE_HEADER} header: expected v=<unix ms>,d=<64 hex digits>")
    timestamp_ms, presented = int(match.group(1)), match.group(2).lower()

    tolerance = options.get("tolerance_secs", TOLERANCE_SECS)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not tolerance > 0:
        tolerance = TOLERANCE_SECS
    skew = now - timestamp_ms / 1000
    if skew > tolerance:
        raise WebhookRejected(f"signature timestamp is {skew:.0f} s old; deliveries older than {tolerance:.0f} s "
                              "are refused")
    if -skew > tolerance:
        raise WebhookRejected(f"signature timestamp is {-skew:.0f} s in the future; more than {tolerance:.0f} s "
                              "of clock skew is refused")

    keys = [key for key in dict.fromkeys((api_key, secret or "")) if key]
    if not keys:
        raise WebhookRejected("the connection has no API key to verify Retell signatures with")
    if not any(hmac.compare_digest(_digest(body, key, timestamp_ms), presented) for key in keys):
        raise WebhookRejected("signature does not match the body (is the connection's API key the one Retell "
                              "signs with?)")


def parse(body: bytes) -> WebhookEvent:
    """A verified body as an event; :class:`WebhookRejected` when it is not a Retell call event."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookRejected("body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookRejected("body is not a JSON object")
    event_type = data.get("event")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookRejected("body has no event name; not a Retell webhook")
    body_hash = hashlib.sha256(body).hexdigest()
    call = data.get("call")
    if call is None:  # an event about something other than a call (a chat…): nothing to file
        key = hashlib.sha256(f"{event_type}::{body_hash}".encode()).hexdigest()
        return WebhookEvent(event_type=event_type, event_key=key, provider_conversation_id=None)
    if not isinstance(call, dict):
        raise WebhookRejected("call is not a JSON object")
    call_id = call.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise WebhookRejected("call.call_id is missing")
    key = hashlib.sha256(f"{event_type}:{call_id}:{body_hash}".encode()).hexdigest()
    return WebhookEvent(
        event_type=event_type,
        event_key=key,
        provider_conversation_id=call_id,
        conversation=call,
        stage=STAGES.get(event_type, _UNKNOWN_EVENT_STAGE),
        occurred_at=_occurred_at(event_type, call),
    )


def merge(stored: Mapping[str, Any] | None, event: WebhookEvent) -> dict[str, Any] | None:
    """The call after ``event``, given what is stored (from earlier events or a sync).

    The stored object's stage is read from its content (analysed, ended, with a
    transcript, started), since it may come from a sync as well as from events.
    An event of the same or a later stage overwrites the fields it carries (its
    nulls never erase a value); an earlier one only fills fields still missing.
    ``call_status`` never moves back either way.
    """
    incoming = event.conversation
    if incoming is None:
        return None
    if stored is None:
        return dict(incoming)
    merged = dict(stored)
    later = event.stage >= stage_of(stored)
    for key, value in incoming.items():
        if value is None:
            continue
        if later or merged.get(key) is None:
            merged[key] = value
    before, after = stored.get("call_status"), merged.get("call_status")
    if _STATUS_RANK.get(str(after), -1) < _STATUS_RANK.get(str(before), -1):
        merged["call_status"] = before
    return merged


def stage_of(call: Mapping[str, Any]) -> int:
    """The event stage a call object corresponds to (see :data:`STAGES`)."""
    if call.get("call_analysis") is not None:
        return STAGES["call_analyzed"]
    status = call.get("call_status")
    if status in ("ended", "error", "not_connected"):
        return STAGES["call_ended"]
    if call.get("transcript_object") or call.get("transcript_with_tool_calls") or call.get("transcript"):
        return STAGES["transcript_updated"]
    if status == "ongoing":
        return STAGES["call_started"]
    return 0


def _digest(body: bytes, key: str, timestamp_ms: int) -> str:
    return hmac.new(key.encode(), body + str(timestamp_ms).encode(), hashlib.sha256).hexdigest()


def _occurred_at(event_type: str, call: Mapping[str, Any]) -> datetime | None:
    field = "start_timestamp" if event_type == "call_started" else "end_timestamp"
    value = call.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
