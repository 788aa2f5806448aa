"""ElevenLabs post-call webhooks: check the signature, read the event, fold it into what is stored.

ElevenLabs signs every delivery with ``ElevenLabs-Signature: t=<unix seconds>,v0=<hex>``,
the hex being HMAC-SHA256 under the webhook secret of ``"<t>.<raw body>"``. The
signature is checked on the raw bytes before anything is parsed, and the
timestamp must be fresh (at most 30 minutes old, at most 5 minutes ahead), so a
captured delivery cannot be replayed later.

A conversation produces up to three kinds of event, which can arrive in any order:

* ``call_initiation_failure`` (stage 1) — an outbound call never connected. It
  carries no conversation, so one is built: ``status: "failed"``, no transcript,
  started at the event's time unless its metadata says otherwise.
* ``post_call_transcription`` (stage 2) — the whole conversation, shaped like
  ``GET /v1/convai/conversations/{id}``, sent once the analysis is done.
* ``post_call_audio`` (stage 0) — the recording as base64 MP3 and nothing else.

:func:`merge` keeps a later stage from being undone by an earlier one arriving
late: the higher stage's object wins, the other only fills what it lacks, and
the status never moves back along the lifecycle.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from convhub.providers.base import WebhookEvent, WebhookRejected

__all__ = [
    "MAX_AGE_SECS",
    "MAX_FUTURE_SECS",
    "SIGNATURE_HEADER",
    "STAGE_AUDIO",
    "STAGE_INITIATION_FAILURE",
    "STAGE_TRANSCRIPTION",
    "merge",
    "parse",
    "verify",
]

SIGNATURE_HEADER = "elevenlabs-signature"
MAX_AGE_SECS = 30 * 60
MAX_FUTURE_SECS = 5 * 60

TRANSCRIPTION = "post_call_transcription"
AUDIO = "post_call_audio"
INITIATION_FAILURE = "call_initiation_failure"

STAGE_AUDIO = 0
STAGE_INITIATION_FAILURE = 1
STAGE_TRANSCRIPTION = 2

# Where a conversation built from a call_initiation_failure keeps the event's own data. Its
# presence marks the object as stage 1, so it is never copied into another object by a merge.
FAILURE_KEY = "call_initiation_failure"

# The lifecycle order: a merge never moves a conversation to an earlier status.
_STATUS_RANK = {"initiated": 0, "in-progress": 1, "processing": 2, "done": 3, "failed": 3}
_GARBLED = "malformed ElevenLabs-Signature header: expected 't=<unix seconds>,v0=<hex HMAC-SHA256>'"


# ------------------------------------------------------------------ verification


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    api_key: str,
    secret: str | None,
    options: Mapping[str, Any],
    now: float,
) -> None:
    """Raise :class:`WebhookRejected` unless ``body`` was signed with ``secret`` within the time window.

    ``api_key`` and ``options`` are not used: ElevenLabs signs with the webhook's
    own HMAC secret only.
    """
    if not secret:
        raise WebhookRejected("no webhook secret configured for this connection")
    header = _header(headers, SIGNATURE_HEADER)
    if header is None or not header.strip():
        raise WebhookRejected("missing ElevenLabs-Signature header")
    timestamp, signatures = _signature_parts(header)

    age = now - int(timestamp)
    if age > MAX_AGE_SECS:
        raise WebhookRejected(
            f"signature timestamp is {int(age)} seconds old; deliveries older than "
            f"{MAX_AGE_SECS // 60} minutes are refused"
        )
    if -age > MAX_FUTURE_SECS:
        raise WebhookRejected(
            f"signature timestamp is {int(-age)} seconds in the future; more than "
            f"{MAX_FUTURE_SECS // 60} minutes ahead of this server's clock is refused"
        )

    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    # Every v0 is compared (a sender may list several while rotating secrets), each in constant time.
    matches = [hmac.compare_digest(expected, signature) for signature in signatures]
    if not any(matches):
        raise WebhookRejected("signature does not match: wrong webhook secret, or the body was altered")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # Starlette's Headers match any case; a plain dict (tests, replays) may not be lower-cased.
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _signature_parts(header: str) -> tuple[str, list[str]]:
    """(``t`` exactly as sent, the ``v0`` digests, lower-cased) of a signature header."""
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookRejected(_GARBLED)
        if key == "t":
            if timestamp is not None or not (value.isascii() and value.isdigit()):
                raise WebhookRejected(_GARBLED)
            timestamp = value
        elif key == "v0":
            digest = value.lower()
            if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
                raise WebhookRejected(_GARBLED)
            signatures.append(digest)
        # Other schemes (a future v1) are ignored: v0 is the one this module knows.
    if timestamp is None or not signatures:
        raise WebhookRejected(_GARBLED)
    return timestamp, signatures


# ------------------------------------------------------------------ parsing


def parse(body: bytes) -> WebhookEvent:
    """A verified body as a :class:`WebhookEvent` (:class:`WebhookRejected` when it is not an ElevenLabs event).

    Event types this module does not know (ElevenLabs adds them) are accepted as
    events without a conversation, so they are stored and acknowledged, not refused.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookRejected("body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected("body is not a JSON object")
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookRejected("body has no event 'type': not an ElevenLabs webhook event")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected(f"{event_type} event has no 'data' object")
    timestamp = payload.get("event_timestamp")
    if timestamp is not None and not _is_number(timestamp):
        raise WebhookRejected(f"{event_type} event: event_timestamp is not a number")
    occurred_at = None if timestamp is None else _datetime(timestamp, f"{event_type} event: event_timestamp")

    known = event_type in (TRANSCRIPTION, AUDIO, INITIATION_FAILURE)
    conversation_id = data.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id:
        if known:
            raise WebhookRejected(f"{event_type} event has no data.conversation_id")
        conversation_id = None

    key_source = f"{event_type}\n{conversation_id or ''}\n".encode() + _digest(data)
    common: dict[str, Any] = {
        "event_type": event_type,
        "event_key": hashlib.sha256(key_source).hexdigest(),
        "provider_conversation_id": conversation_id,
        "occurred_at": occurred_at,
    }
    if event_type == TRANSCRIPTION:
        return WebhookEvent(**common, conversation=dict(data), stage=STAGE_TRANSCRIPTION)
    if event_type == AUDIO:
        audio = data.get("full_audio")
        if not isinstance(audio, str) or not audio:
            raise WebhookRejected("post_call_audio event has no data.full_audio")
        return WebhookEvent(**common, stage=STAGE_AUDIO, audio_base64=audio, extra={"agent_id": data.get("agent_id")})
    if event_type == INITIATION_FAILURE:
        conversation = _failed_initiation(data, conversation_id or "", timestamp)
        return WebhookEvent(
            **common,
            conversation=conversation,
            stage=STAGE_INITIATION_FAILURE,
            extra={"failure_reason": conversation[FAILURE_KEY]["failure_reason"]},
        )
    return WebhookEvent(**common, stage=STAGE_AUDIO)


def _failed_initiation(data: Mapping[str, Any], conversation_id: str, timestamp: Any) -> dict[str, Any]:
    """A conversation object the mapper files as a failed call, from a ``call_initiation_failure`` event."""
    metadata = data.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    reason = data.get("failure_reason")
    reason = reason if isinstance(reason, str) and reason else "unknown"
    start = metadata.get("start_time_unix_secs")
    if not _is_number(start):
        if timestamp is None:
            raise WebhookRejected("call_initiation_failure event has neither event_timestamp nor a start time")
        start = timestamp
    conversation_metadata: dict[str, Any] = {
        "start_time_unix_secs": start,
        "call_duration_secs": 0,
        "termination_reason": f"Call initiation failed: {reason}",
    }
    phone_call = _twilio_phone_call(metadata)
    if phone_call is not None:
        conversation_metadata["phone_call"] = phone_call
    return {
        "agent_id": data.get("agent_id"),
        "conversation_id": conversation_id,
        "status": "failed",
        "transcript": [],
        "metadata": conversation_metadata,
        "analysis": None,
        "has_audio": False,
        "has_user_audio": False,
        "has_response_audio": False,
        FAILURE_KEY: {"failure_reason": reason, "metadata": metadata},
    }


def _twilio_phone_call(metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """The numbers of a failed Twilio call, from the status callback ElevenLabs forwards as ``metadata.body``."""
    body = metadata.get("body")
    if metadata.get("type") != "twilio" or not isinstance(body, Mapping):
        return None
    to, from_ = body.get("To"), body.get("From")
    if not isinstance(to, str) or not isinstance(from_, str):
        return None
    direction = body.get("Direction")
    inbound = isinstance(direction, str) and direction == "inbound"
    call: dict[str, Any] = {
        "type": "twilio",
        "direction": "inbound" if inbound else "outbound",  # initiation failures are ElevenLabs' own calls out
        "agent_number": to if inbound else from_,
        "external_number": from_ if inbound else to,
    }
    if isinstance(body.get("CallSid"), str):
        call["call_sid"] = body["CallSid"]
    return call


# ------------------------------------------------------------------ merging


def merge(stored: Mapping[str, Any] | None, event: WebhookEvent) -> dict[str, Any] | None:
    """The conversation object to file after ``event``, given the one stored so far.

    The object of the higher stage wins, the other fills only what it lacks
    (absent or null keys, recursively); a tie goes to the event, the newer news.
    The status never moves back (``done`` stays ``done`` whatever arrives later).
    None when the event carries no conversation (audio).
    """
    incoming = event.conversation
    if incoming is None:
        return None
    if stored is None:
        return _fill(incoming, {})
    newer, older = (incoming, stored) if event.stage >= _stage_of(stored) else (stored, incoming)
    merged = _fill(newer, older)
    if _rank(merged.get("status")) < _rank(stored.get("status")):
        merged["status"] = stored["status"]
    return merged


def _rank(status: Any) -> int:
    return _STATUS_RANK.get(status, -1) if isinstance(status, str) else -1


def _stage_of(conversation: Mapping[str, Any]) -> int:
    """The stage a stored object came from: only a built failure carries :data:`FAILURE_KEY`."""
    return STAGE_INITIATION_FAILURE if FAILURE_KEY in conversation else STAGE_TRANSCRIPTION


def _fill(primary: Mapping[str, Any], secondary: Mapping[str, Any], *, top: bool = True) -> dict[str, Any]:
    """``primary`` with its absent or null keys taken from ``secondary``, nested objects alike."""
    merged = dict(primary)
    for key, value in secondary.items():
        if top and key == FAILURE_KEY:
            continue  # belongs to a built failure object only
        mine = merged.get(key)
        if mine is None:
            merged[key] = value
        elif isinstance(mine, Mapping) and isinstance(value, Mapping):
            merged[key] = _fill(mine, value, top=False)
    return merged


# ------------------------------------------------------------------ values


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _datetime(value: float, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise WebhookRejected(f"{what} is not a usable Unix time") from None


def _digest(data: Mapping[str, Any]) -> bytes:
    """A hash of ``data`` that ignores key order, so a re-serialised redelivery keys the same."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).digest()
