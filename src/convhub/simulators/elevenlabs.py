"""A simulated ElevenLabs account: the conversations API and its post-call webhooks, on loopback.

Sync, demo and benchmark runs need an ElevenLabs that answers exactly as the
real one does — to convhub's client and to the official ``elevenlabs`` SDK
alike — without the internet. The conversation bodies come from
:mod:`convhub.simulators.generate`; this module serves them:

* ``GET /v1/convai/conversations`` — summaries (``ConversationSummaryResponseModel``)
  newest first, ``cursor`` / ``page_size`` (1 to 100, default 30), filtered by
  ``call_start_after_unix`` / ``call_start_before_unix`` (both inclusive) and
  ``agent_id``. The cursor is keyset-based (start time and id of the page's last
  item), so conversations added or deleted between pages never shift the rest;
* ``GET /v1/convai/conversations/{id}`` — the detail body as generated;
* ``GET /v1/convai/conversations/{id}/audio`` — a silent MP3 when ``has_audio``;
* ``DELETE /v1/convai/conversations/{id}``.

Every route wants the ``xi-api-key`` header. List items are derived from the
detail body here (the simulator never imports convhub's server code), and
webhooks are signed independently of convhub's verifier, so a mismatch between
the two shows up in tests.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import hashlib
import hmac
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from convhub.simulators.common import SimulatorStore, require_key
from convhub.simulators.generate import generate_audio_bytes, generate_elevenlabs_conversation

__all__ = ["VENDOR", "ElevenLabsSimulator", "list_item", "sign"]

FINAL_STATUSES = frozenset({"done", "failed"})
DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100
MAX_AUDIO_SECS = 30  # recordings are silent anyway; longer ones would only slow tests down
_BASE = "/v1/convai/conversations"


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``ElevenLabs-Signature`` header value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v0={digest}"


def list_item(conversation: dict[str, Any], *, include_summary: bool = False) -> dict[str, Any]:
    """The list endpoint's summary of a detail body (``ConversationSummaryResponseModel``)."""
    metadata = conversation.get("metadata") or {}
    analysis = conversation.get("analysis") or {}
    transcript = conversation.get("transcript") or []
    spoken = [t for t in transcript if t.get("message")]
    phone_call = metadata.get("phone_call") or {}
    feedback = metadata.get("feedback") or {}
    rating = feedback.get("rating")
    tool_names = sorted({c["tool_name"] for t in transcript for c in t.get("tool_calls") or [] if c.get("tool_name")})
    evaluations = analysis.get("evaluation_criteria_results") or {}
    return {
        "agent_id": conversation["agent_id"],
        "branch_id": conversation.get("branch_id"),
        "agent_name": conversation.get("agent_name"),
        "conversation_id": conversation["conversation_id"],
        "start_time_unix_secs": int(metadata["start_time_unix_secs"]),
        "call_duration_secs": int(metadata.get("call_duration_secs") or 0),
        "cost": metadata.get("cost"),
        "cost_fiat": metadata.get("cost_fiat"),
        "message_count": len(spoken),
        "user_message_count": sum(1 for t in spoken if t.get("role") == "user"),
        "agent_message_count": sum(1 for t in spoken if t.get("role") == "agent"),
        "status": conversation["status"],
        "termination_reason": metadata.get("termination_reason") or None,
        "call_successful": analysis.get("call_successful") or "unknown",
        "transcript_summary": analysis.get("transcript_summary") if include_summary else None,
        "call_summary_title": analysis.get("call_summary_title"),
        "main_language": metadata.get("main_language"),
        "conversation_initiation_source": metadata.get("conversation_initiation_source"),
        "tool_names": tool_names,
        "direction": phone_call.get("direction"),
        "rating": None if rating is None else float(rating),
        "evaluation_criteria_results": {key: {"result": value.get("result")} for key, value in evaluations.items()},
        "tag_ids": [],
    }


def _audio(conversation: dict[str, Any]) -> bytes:
    seconds = int(conversation["metadata"].get("call_duration_secs") or 0)
    return generate_audio_bytes(conversation["conversation_id"], max(1, min(seconds, MAX_AUDIO_SECS)))


def _not_found(conversation_id: str) -> JSONResponse:
    return JSONResponse(
        {"detail": {"status": "conversation_not_found", "message": f"Conversation {conversation_id} not found"}},
        404,
    )


def _invalid(name: str, problem: str) -> JSONResponse:
    # The shape FastAPI gives a query-parameter validation error, as ElevenLabs' own API does.
    return JSONResponse(
        {"detail": [{"type": "value_error", "loc": ["query", name], "msg": problem, "input": None}]}, 422
    )


def _int_query(request: Request, name: str, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _BadQuery(name, "Input should be a valid integer") from None
    if not low <= value <= high:
        raise _BadQuery(name, f"Input should be between {low} and {high}")
    return value


class _BadQuery(Exception):
    def __init__(self, name: str, problem: str) -> None:
        super().__init__(problem)
        self.name = name
        self.problem = problem


def _encode_cursor(key: tuple[int, str]) -> str:
    raw = orjson.dumps([key[0], key[1]])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        started_ms, conversation_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError):
        raise _BadQuery("cursor", "Invalid cursor") from None
    if not isinstance(started_ms, int) or not isinstance(conversation_id, str):
        raise _BadQuery("cursor", "Invalid cursor")
    return started_ms, conversation_id


class ElevenLabsSimulator:
    """ElevenLabs' shapes for :mod:`convhub.simulators.common`."""

    name = "elevenlabs"

    def generate(self, index: int, *, seed: int, agents: int, start: datetime, span_days: int) -> dict[str, Any]:
        return generate_elevenlabs_conversation(index, seed=seed, agents=agents, start=start, span_days=span_days)

    def conversation_id(self, conversation: dict[str, Any]) -> str:
        return str(conversation["conversation_id"])

    def started_ms(self, conversation: dict[str, Any]) -> int:
        return int(conversation["metadata"]["start_time_unix_secs"] * 1000)

    def is_final(self, conversation: dict[str, Any]) -> bool:
        return conversation.get("status") in FINAL_STATUSES

    def finish(self, conversation: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The call ended and was analysed: ``done``, a duration, a cost, an outcome, a recording."""
        if self.is_final(conversation):
            return conversation
        conv = copy.deepcopy(conversation)
        metadata = conv["metadata"]
        duration = int(metadata.get("call_duration_secs") or 0)
        if duration <= 0:
            duration = int(min(600, max(10, now.timestamp() - metadata["start_time_unix_secs"])))
        metadata["call_duration_secs"] = duration
        if metadata.get("cost") is None:
            metadata["cost"] = duration * 8
        if not metadata.get("termination_reason"):
            metadata["termination_reason"] = "Remote party hung up."
        client_data = conv.get("conversation_initiation_client_data") or {}
        variables = client_data.get("dynamic_variables") or {}
        if "system__call_duration_secs" in variables:
            variables["system__call_duration_secs"] = duration
        if conv.get("analysis") is None:
            conv["analysis"] = _late_analysis(conv)
        has_audio = not metadata.get("text_only")
        conv.update(status="done", has_audio=has_audio, has_user_audio=has_audio, has_response_audio=has_audio)
        return conv

    def webhook_deliveries(
        self, conversation: dict[str, Any], secret: str, now: datetime
    ) -> list[tuple[dict[str, str], bytes]]:
        """``post_call_transcription``, then ``post_call_audio`` when there is a recording (final ones only)."""
        if not self.is_final(conversation):
            return []
        timestamp = int(now.timestamp())
        events: list[dict[str, Any]] = [
            {"type": "post_call_transcription", "event_timestamp": timestamp, "data": conversation}
        ]
        if conversation.get("has_audio"):
            events.append(
                {
                    "type": "post_call_audio",
                    "event_timestamp": timestamp,
                    "data": {
                        "agent_id": conversation["agent_id"],
                        "conversation_id": conversation["conversation_id"],
                        "full_audio": base64.b64encode(_audio(conversation)).decode(),
                    },
                }
            )
        deliveries = []
        for event in events:
            body = orjson.dumps(event)
            deliveries.append(({"ElevenLabs-Signature": sign(body, secret, timestamp)}, body))
        return deliveries

    def is_binary(self, path: str) -> bool:
        return path.startswith(_BASE) and path.endswith("/audio")

    def routes(self, store: SimulatorStore) -> APIRouter:
        router = APIRouter()
        index = _KeyIndex(store, self)

        @router.get(_BASE)
        async def list_conversations(request: Request) -> Response:
            if (denied := require_key(request, request.headers.get("xi-api-key"))) is not None:
                return denied
            store.count("list")
            try:
                page_size = _int_query(request, "page_size", 1, MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
                after = _int_query(request, "call_start_after_unix", 0, 2**53)
                before = _int_query(request, "call_start_before_unix", 0, 2**53)
                cursor = request.query_params.get("cursor") or None
                after_key = _decode_cursor(cursor) if cursor else None
            except _BadQuery as exc:
                return _invalid(exc.name, exc.problem)
            agent_id = request.query_params.get("agent_id") or None
            include_summary = request.query_params.get("summary_mode") == "include"

            ordered = store.ordered()
            start = 0 if after_key is None else index.first_below(after_key)
            if before is not None:
                start = max(start, index.first_below(((before + 1) * 1000, "")))
            found: list[dict[str, Any]] = []
            for conv in ordered[start:]:
                if after is not None and self.started_ms(conv) < after * 1000:
                    break  # newest first: everything further is older still
                if agent_id is not None and conv.get("agent_id") != agent_id:
                    continue
                found.append(conv)
                if len(found) > page_size:
                    break
            page, has_more = found[:page_size], len(found) > page_size
            last = page[-1] if page else None
            body = {
                "conversations": [list_item(c, include_summary=include_summary) for c in page],
                "next_cursor": _encode_cursor((self.started_ms(last), self.conversation_id(last)))
                if has_more and last is not None
                else None,
                "has_more": has_more,
            }
            return Response(orjson.dumps(body), media_type="application/json")

        @router.get(_BASE + "/{conversation_id}")
        async def get_conversation(conversation_id: str, request: Request) -> Response:
            if (denied := require_key(request, request.headers.get("xi-api-key"))) is not None:
                return denied
            store.count("detail")
            conv = store.get(conversation_id)
            if conv is None:
                return _not_found(conversation_id)
            return Response(orjson.dumps(conv), media_type="application/json")

        @router.get(_BASE + "/{conversation_id}/audio")
        async def get_audio(conversation_id: str, request: Request) -> Response:
            if (denied := require_key(request, request.headers.get("xi-api-key"))) is not None:
                return denied
            store.count("audio")
            conv = store.get(conversation_id)
            if conv is None:
                return _not_found(conversation_id)
            if not conv.get("has_audio"):
                return JSONResponse(
                    {"detail": {"status": "audio_not_found", "message": "This conversation has no audio"}}, 404
                )
            return Response(_audio(conv), media_type="audio/mpeg")

        @router.delete(_BASE + "/{conversation_id}")
        async def delete_conversation(conversation_id: str, request: Request) -> Response:
            if (denied := require_key(request, request.headers.get("xi-api-key"))) is not None:
                return denied
            store.count("delete")
            if not store.delete(conversation_id):
                return _not_found(conversation_id)
            return JSONResponse({})

        return router


class _KeyIndex:
    """Binary search over the store's newest-first order, rebuilt only when that order changes."""

    def __init__(self, store: SimulatorStore, vendor: ElevenLabsSimulator) -> None:
        self.store = store
        self.vendor = vendor
        self._source: list[dict[str, Any]] | None = None
        self._ascending: list[tuple[int, str]] = []

    def first_below(self, key: tuple[int, str]) -> int:
        """The position in ``store.ordered()`` of the first conversation whose (start, id) is below ``key``."""
        ordered = self.store.ordered()
        if ordered is not self._source:
            self._source = ordered
            self._ascending = [(self.vendor.started_ms(c), self.vendor.conversation_id(c)) for c in reversed(ordered)]
        return len(self._ascending) - bisect.bisect_left(self._ascending, key)


def _late_analysis(conversation: dict[str, Any]) -> dict[str, Any]:
    """An analysis for a call that ended while the simulator was running: no outcome decided, a plain summary."""
    first = next(
        (t["message"] for t in conversation.get("transcript") or [] if t.get("role") == "user" and t.get("message")),
        None,
    )
    summary = (
        f'The customer opened with: "{first}" The call ended before the request was settled.'
        if first
        else "The call ended before the customer explained the request."
    )
    return {
        "evaluation_criteria_results": {},
        "data_collection_results": {},
        "call_successful": "unknown",
        "transcript_summary": summary,
        "call_summary_title": "Call ended early",
    }


VENDOR = ElevenLabsSimulator()
