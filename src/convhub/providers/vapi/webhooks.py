"""Vapi server messages: authenticity, parsing, and folding events into one Call object.

Vapi POSTs ``{"message": {"type": …, "call": {…}, …}}`` to the server URL of an
assistant or phone number. How it authenticates is the customer's choice (the
server's ``credentialId``), so the connection's ``options`` say which one to
expect. Option names follow Vapi's ``HmacAuthenticationPlan`` and
``BearerAuthenticationPlan`` fields in snake_case (the camelCase spellings Vapi
uses are accepted too, so a plan can be pasted as is):

``mode`` — ``"hmac"`` (default) or ``"bearer"``.

HMAC (``mode: "hmac"``):

* ``signature_header`` — default ``x-signature``;
* ``timestamp_header`` — default ``x-timestamp``; seconds or milliseconds since the epoch;
* ``algorithm`` — ``sha256`` (default), ``sha1`` or ``sha512``;
* ``signature_encoding`` (alias ``encoding``) — ``hex`` (default) or ``base64``;
* ``signature_prefix`` — e.g. ``sha256=``, stripped from the header before comparing;
* ``include_timestamp`` — default true; false makes the default payload ``{body}``;
* ``payload_format`` — default ``{timestamp}.{body}``; ``{body}``, ``{timestamp}``,
  ``{method}`` (always POST), ``{svix-id}`` (from ``message_id_header``) and ``{url}``
  (from the ``url`` option, the address Vapi posts to) are filled in;
* ``secret_is_base64`` — decode the secret from base64 before use.

When the payload includes the timestamp, a delivery more than five minutes from
``now`` (either way) is rejected, so a captured request cannot be replayed later.

Bearer (``mode: "bearer"``): ``header_name`` (alias ``header``, default
``authorization``) must carry ``Bearer <secret>`` or the bare secret (Vapi's
older ``x-vapi-secret`` header carries it bare).

``merge`` exists because Vapi sends several messages per call, in no
guaranteed order: ``status-update`` messages carry the call as it was at that
moment, ``end-of-call-report`` carries the artifact (transcript, recording),
the analysis and the cost *beside* the call object. Folding them into one Call
object lets the one mapper handle webhooks and API bodies alike.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from convhub.providers.base import WebhookEvent, WebhookRejected

__all__ = ["merge", "parse", "verify"]

TOLERANCE_SECS = 5 * 60
_ALGORITHMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "sha512": hashlib.sha512}
_PLACEHOLDER = re.compile(r"\{(timestamp|body|method|url|svix-id)\}")

# Option name → the spellings accepted for it (ours first, then Vapi's).
_OPTION_NAMES = {
    "mode": ("mode",),
    "signature_header": ("signature_header", "signatureHeader"),
    "timestamp_header": ("timestamp_header", "timestampHeader"),
    "algorithm": ("algorithm",),
    "signature_encoding": ("signature_encoding", "signatureEncoding", "encoding"),
    "signature_prefix": ("signature_prefix", "signaturePrefix"),
    "include_timestamp": ("include_timestamp", "includeTimestamp"),
    "payload_format": ("payload_format", "payloadFormat"),
    "message_id_header": ("message_id_header", "messageIdHeader"),
    "secret_is_base64": ("secret_is_base64", "secretIsBase64"),
    "url": ("url",),
    "header_name": ("header_name", "headerName", "header"),
}

# Event ordering: a status-update by the status it reports, the end-of-call report after all of them.
STATUS_STAGES = {"scheduled": 0, "queued": 1, "ringing": 2, "in-progress": 3, "forwarding": 3, "ended": 4}
END_OF_CALL_STAGE = 5
# Status order for merging (finer than the stages: forwarding comes after in-progress).
_STATUS_RANK = {
    "scheduled": 0,
    "queued": 1,
    "ringing": 2,
    "in-progress": 3,
    "forwarding": 4,
    "ended": 5,
    "deletion-failed": 5,
    "not-found": 5,
}
# What an end-of-call report carries beside its ``call`` object that belongs on the call.
_REPORT_FIELDS = (
    "endedReason", "cost", "costs", "costBreakdown", "destination", "startedAt", "endedAt", "customer",
    "phoneNumber", "compliance",
)
_STATUS_UPDATE_FIELDS = ("endedReason", "destination", "customer", "phoneNumber", "startedAt", "endedAt")


# ----------------------------------------------------------------------- verify


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    api_key: str,
    secret: str | None,
    options: Mapping[str, Any],
    now: float,
) -> None:
    """Raise :class:`WebhookRejected` unless the delivery carries the connection's credential.

    ``api_key`` is unused: Vapi authenticates server messages with a secret of their own.
    """
    del api_key
    if not secret:
        raise WebhookRejected("no webhook secret is configured for this Vapi connection")
    mode = _option_str(options, "mode", "hmac").lower()
    if mode == "hmac":
        _verify_hmac(headers, body, secret, options, now)
    elif mode == "bearer":
        _verify_bearer(headers, secret, options)
    else:
        raise WebhookRejected(f"unknown webhook mode {mode!r} (expected 'hmac' or 'bearer')")


def _verify_hmac(headers: Mapping[str, str], body: bytes, secret: str, options: Mapping[str, Any], now: float) -> None:
    algorithm = _option_str(options, "algorithm", "sha256").lower()
    digest = _ALGORITHMS.get(algorithm)
    if digest is None:
        raise WebhookRejected(f"unsupported HMAC algorithm {algorithm!r} (expected sha256, sha1 or sha512)")
    encoding = _option_str(options, "signature_encoding", "hex").lower()
    if encoding not in ("hex", "base64"):
        raise WebhookRejected(f"unsupported signature encoding {encoding!r} (expected hex or base64)")
    include_timestamp = _option(options, "include_timestamp", True)
    if not isinstance(include_timestamp, bool):
        raise WebhookRejected("option include_timestamp must be true or false")
    payload_format = _option_str(options, "payload_format", "{timestamp}.{body}" if include_timestamp else "{body}")

    signature_header = _option_str(options, "signature_header", "x-signature")
    presented = _header(headers, signature_header)
    if presented is None:
        raise WebhookRejected(f"missing {signature_header} header")
    presented = presented.strip()
    prefix = _option_str(options, "signature_prefix", "")
    if prefix:
        if not presented.startswith(prefix):
            raise WebhookRejected(f"the {signature_header} header does not start with {prefix!r}")
        presented = presented[len(prefix):]
    try:
        presented_digest = bytes.fromhex(presented) if encoding == "hex" else base64.b64decode(presented, validate=True)
    except (ValueError, binascii.Error):
        raise WebhookRejected(f"the {signature_header} header is not {encoding}") from None

    values: dict[str, bytes] = {"body": body, "method": b"POST"}
    if "{timestamp}" in payload_format:
        timestamp_header = _option_str(options, "timestamp_header", "x-timestamp")
        stamp = _header(headers, timestamp_header)
        if stamp is None:
            raise WebhookRejected(f"missing {timestamp_header} header")
        _check_fresh(stamp.strip(), timestamp_header, now)
        values["timestamp"] = stamp.strip().encode()
    if "{svix-id}" in payload_format:
        id_header = _option_str(options, "message_id_header", "")
        message_id = _header(headers, id_header) if id_header else None
        if message_id is None:
            raise WebhookRejected("payload_format uses {svix-id} but no message id header arrived "
                                  "(set message_id_header)")
        values["svix-id"] = message_id.encode()
    if "{url}" in payload_format:
        url = _option_str(options, "url", "")
        if not url:
            raise WebhookRejected("payload_format uses {url}: set the url option to the address Vapi posts to")
        values["url"] = url.encode()

    key = secret.encode()
    if _option(options, "secret_is_base64", False) is True:
        try:
            key = base64.b64decode(secret, validate=True)
        except binascii.Error:
            raise WebhookRejected("the webhook secret is not valid base64 (secret_is_base64 is set)") from None
    payload = _fill(payload_format, values)
    expected = hmac.new(key, payload, digest).digest()
    if not hmac.compare_digest(expected, presented_digest):
        raise WebhookRejected("signature mismatch: the body was not signed with this connection's secret")


def _fill(payload_format: str, values: Mapping[str, bytes]) -> bytes:
    """The signed payload: the format's literal text as UTF-8 with the raw values spliced in."""
    parts: list[bytes] = []
    position = 0
    for match in _PLACEHOLDER.finditer(payload_format):
        parts.append(payload_format[position:match.start()].encode())
        parts.append(values[match.group(1)])
        position = match.end()
    parts.append(payload_format[position:].encode())
    return b"".join(parts)


def _check_fresh(stamp: str, header: str, now: float) -> None:
    try:
        value = float(stamp)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise WebhookRejected(f"the {header} header is not a Unix time: {stamp[:40]!r}")
    seconds = value / 1000 if value > 1e11 else value  # milliseconds from 1973 on; seconds until year 5138
    skew = seconds - now
    if skew > TOLERANCE_SECS:
        raise WebhookRejected(f"the {header} header is {skew:.0f} s in the future (more than 5 minutes)")
    if -skew > TOLERANCE_SECS:
        raise WebhookRejected(f"the delivery is {-skew:.0f} s old (older than 5 minutes): possibly a replay")


def _verify_bearer(headers: Mapping[str, str], secret: str, options: Mapping[str, Any]) -> None:
    header = _option_str(options, "header_name", "authorization")
    value = _header(headers, header)
    if value is None:
        raise WebhookRejected(f"missing {header} header")
    token = value.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not hmac.compare_digest(token.encode(), secret.encode()):
        raise WebhookRejected(f"the {header} header does not carry this connection's secret")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever the case of the mapping's keys."""
    wanted = name.lower()
    value = headers.get(wanted)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None


def _option(options: Mapping[str, Any], name: str, default: Any) -> Any:
    for spelling in _OPTION_NAMES[name]:
        if options.get(spelling) is not None:
            return options[spelling]
    return default


def _option_str(options: Mapping[str, Any], name: str, default: str) -> str:
    value = _option(options, name, default)
    if not isinstance(value, str):
        raise WebhookRejected(f"webhook option {name} must be a string, got {type(value).__name__}")
    return value


# ----------------------------------------------------------------------- parse


def parse(body: bytes) -> WebhookEvent:
    """The server message in ``body``; the call it concerns with the message's extras folded in."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookRejected("body is not JSON") from None
    message = data.get("message") if isinstance(data, dict) else None
    if not isinstance(message, dict):
        raise WebhookRejected('body is not a Vapi server message (no "message" object)')
    event_type = message.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookRejected('body is not a Vapi server message ("message.type" is missing)')
    call = message.get("call")
    if call is not None and not isinstance(call, dict):
        raise WebhookRejected('"message.call" is not an object')
    call_id = call.get("id") if call is not None else None
    if call_id is not None and (not isinstance(call_id, str) or not call_id):
        raise WebhookRejected('"message.call.id" is not a string')

    event_key = hashlib.sha256(
        f"vapi\n{event_type}\n{call_id or ''}\n{hashlib.sha256(body).hexdigest()}".encode()
    ).hexdigest()
    occurred_at = _occurred_at(message.get("timestamp"))
    conversation: dict[str, Any] | None = None
    stage = 0
    extra: dict[str, Any] = {}
    if call is not None and call_id is not None:
        if event_type == "status-update":
            status = message.get("status", call.get("status"))
            if not isinstance(status, str):
                raise WebhookRejected('"message.status" is not a string')
            stage = STATUS_STAGES.get(status, 0)
            conversation = _fold(call, message, _STATUS_UPDATE_FIELDS)
            conversation["status"] = status
            if isinstance(message.get("artifact"), dict):
                conversation["artifact"] = _deep_merge(message["artifact"], conversation.get("artifact"))
            extra["status"] = status
        elif event_type == "end-of-call-report":
            stage = END_OF_CALL_STAGE
            conversation = _fold(call, message, _REPORT_FIELDS)
            conversation["status"] = "ended"  # the report is only sent once the call is over
            for key in ("artifact", "analysis"):
                if isinstance(message.get(key), dict):
                    conversation[key] = _deep_merge(message[key], conversation.get(key))
    return WebhookEvent(
        event_type=event_type,
        event_key=event_key,
        provider_conversation_id=call_id,
        conversation=conversation,
        stage=stage,
        occurred_at=occurred_at,
        extra=extra,
    )


def _fold(call: Mapping[str, Any], message: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The call object with the message's top-level fields that describe the call."""
    folded = copy.deepcopy(dict(call))
    for key in fields:
        value = message.get(key)
        if value is not None:
            folded[key] = copy.deepcopy(value)
    return folded


def _occurred_at(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)  # Vapi stamps server messages in milliseconds
    except (OverflowError, OSError, ValueError):
        return None


# ----------------------------------------------------------------------- merge


def merge(stored: Mapping[str, Any] | None, event: WebhookEvent) -> dict[str, Any] | None:
    """The Call object after ``event``, given the one stored so far.

    The more advanced of the two wins conflicting values: higher status first, then
    the one with analysis, then the longer transcript, then the later ``updatedAt``
    (the event on a tie). The other only fills what the winner lacks, recursively,
    so a late ``status-update`` neither moves an ended call back nor drops the
    report's transcript and analysis.
    """
    if event.conversation is None:
        return None
    incoming = event.conversation
    if stored is None:
        return copy.deepcopy(dict(incoming))
    if _progress(incoming) >= _progress(stored):
        return _deep_merge(incoming, stored)
    return _deep_merge(stored, incoming)


def _progress(call: Mapping[str, Any]) -> tuple[int, bool, int, str]:
    status = call.get("status")
    rank = _STATUS_RANK.get(status, -1) if isinstance(status, str) else -1
    analysis = call.get("analysis")
    artifact = call.get("artifact")
    messages = artifact.get("messages") if isinstance(artifact, Mapping) else None
    updated = call.get("updatedAt")
    return (
        rank,
        isinstance(analysis, Mapping) and bool(analysis),
        len(messages) if isinstance(messages, list) else 0,
        updated if isinstance(updated, str) else "",
    )


def _deep_merge(winner: Mapping[str, Any], loser: Mapping[str, Any] | None) -> dict[str, Any]:
    """``winner`` with every key it lacks (missing, null or empty) taken from ``loser``; objects recursively."""
    merged = copy.deepcopy(dict(winner))
    if loser is None:
        return merged
    for key, theirs in loser.items():
        ours = merged.get(key)
        if isinstance(ours, Mapping) and isinstance(theirs, Mapping):
            merged[key] = _deep_merge(ours, theirs)
        elif _empty(ours) and not _empty(theirs):
            merged[key] = copy.deepcopy(theirs)
    return merged


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}
