"""A Retell account on loopback: its call API (list, get, delete), recordings and signed webhooks.

The calls are the generator's ElevenLabs conversations (same scenarios, people
and wording) rewritten in Retell's shapes, deterministic from the seed and the
index: phone and web calls with millisecond timestamps, transcripts in all
three of Retell's forms (text, utterances with word timings, utterances
interleaved with tool invocations and results), post-call analysis, cost in
cents and a recording. Statuses follow the conversation's: registered and
ongoing calls, ended calls still waiting for their analysis, analysed ones,
calls that errored or never connected.

Like the real API, ``POST /v3/list-calls`` returns items *without* the
transcript (the issue convhub's sync works around with one get per call), pages
with an opaque ``pagination_key`` and filters on ``filter_criteria``. The
retell-sdk client works against it unchanged with ``base_url`` pointed here.

Recording URLs are stored relative (``/_recordings/{call_id}.mp3``: a generated
call does not know where its simulator listens) and made absolute with the
simulator's public URL whenever the API hands a call out. The recording route is
a vendor route, so latency and faults apply to it as to the API.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import random
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from convhub.simulators.common import SimulatorStore, require_key
from convhub.simulators.generate import generate_audio_bytes, generate_elevenlabs_conversation

__all__ = ["VENDOR", "RetellSimulator"]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
RECORDINGS = "/_recordings/"

# What ``/v3/list-calls`` leaves out of its items: the transcript in every form.
TRANSCRIPT_FIELDS = frozenset({
    "transcript",
    "transcript_object",
    "transcript_with_tool_calls",
    "scrubbed_transcript_with_tool_calls",
    "pre_session_transcript_with_tool_calls",
    "post_session_transcript_with_tool_calls",
    "scrubbed_pre_session_transcript_with_tool_calls",
    "scrubbed_post_session_transcript_with_tool_calls",
})
# What a call has only once it has ended: left out of the ``call_started`` webhook.
_END_FIELDS = TRANSCRIPT_FIELDS | {
    "end_timestamp", "duration_ms", "disconnection_reason", "call_analysis", "call_cost", "llm_token_usage",
    "latency", "recording_url", "transfer_destination", "collected_dynamic_variables",
}
Predicate = Callable[[dict[str, Any]], bool]

_NUMBER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
}
_WORD_SECS = 0.32


class BadRequest(ValueError):
    """A list request the real API would refuse with 400."""


class RetellSimulator:
    """The Retell shapes for :mod:`convhub.simulators.common`."""

    name = "retell"

    # -------------------------------------------------------------- generation

    def generate(self, index: int, *, seed: int, agents: int, start: datetime, span_days: int) -> dict[str, Any]:
        body = generate_elevenlabs_conversation(index, seed=seed, agents=agents, start=start, span_days=span_days)
        return _call_from_elevenlabs(body, seed, index)

    def conversation_id(self, conversation: dict[str, Any]) -> str:
        call_id: str = conversation["call_id"]
        return call_id

    def started_ms(self, conversation: dict[str, Any]) -> int:
        started: int = conversation["start_timestamp"]
        return started

    def is_final(self, conversation: dict[str, Any]) -> bool:
        status = conversation["call_status"]
        return status in ("error", "not_connected") or (
            status == "ended" and conversation.get("call_analysis") is not None
        )

    def finish(self, conversation: dict[str, Any], now: datetime) -> dict[str, Any]:
        call = copy.deepcopy(conversation)
        status = call["call_status"]
        if status in ("registered", "ongoing"):
            _hang_up(call, int(now.timestamp() * 1000))
        if call["call_status"] == "ended" and call.get("call_analysis") is None:
            call["call_analysis"] = _closing_analysis(call)
        return call

    # ---------------------------------------------------------------- webhooks

    def webhook_deliveries(
        self, conversation: dict[str, Any], secret: str, now: datetime
    ) -> list[tuple[dict[str, str], bytes]]:
        """``call_started`` / ``call_ended`` / ``call_analyzed`` as far as the call has got, signed like Retell."""
        call = conversation
        status = call["call_status"]
        events: list[tuple[str, dict[str, Any]]] = []
        if status in ("ongoing", "ended", "error"):
            started = {k: v for k, v in call.items() if k not in _END_FIELDS}
            events.append(("call_started", {**started, "call_status": "ongoing"}))
        if status in ("ended", "error", "not_connected"):
            events.append(("call_ended", {k: v for k, v in call.items() if k != "call_analysis"}))
        if call.get("call_analysis") is not None:
            events.append(("call_analyzed", call))
        timestamp = int(now.timestamp() * 1000)
        deliveries = []
        for event, payload in events:
            body = orjson.dumps({"event": event, "call": payload})
            digest = hmac.new(secret.encode(), body + str(timestamp).encode(), hashlib.sha256).hexdigest()
            deliveries.append(({"x-retell-signature": f"v={timestamp},d={digest}"}, body))
        return deliveries

    # ------------------------------------------------------------------ routes

    def is_binary(self, path: str) -> bool:
        return path.startswith(RECORDINGS)

    def routes(self, store: SimulatorStore) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        def public(call: dict[str, Any]) -> dict[str, Any]:
            url = call.get("recording_url")
            if isinstance(url, str) and url.startswith("/"):
                return {**call, "recording_url": store.options.public_url.rstrip("/") + url}
            return call

        @router.post("/v3/list-calls")
        async def list_calls(request: Request) -> Response:
            if (denied := require_key(request, _bearer(request))) is not None:
                return denied
            store.count("list")
            try:
                params = _list_params(await request.body())
                items, next_key = _page(store, params)
            except BadRequest as exc:
                return _json({"status": "error", "message": str(exc)}, 400)
            listed = [{k: v for k, v in public(c).items() if k not in TRANSCRIPT_FIELDS} for c in items]
            return _json({"items": listed, "has_more": next_key is not None, "pagination_key": next_key})

        @router.get("/v2/get-call/{call_id}")
        async def get_call(call_id: str, request: Request) -> Response:
            if (denied := require_key(request, _bearer(request))) is not None:
                return denied
            store.count("detail")
            call = store.get(call_id)
            if call is None:
                return _not_found(call_id)
            return _json(public(call))

        @router.delete("/v2/delete-call/{call_id}")
        async def delete_call(call_id: str, request: Request) -> Response:
            if (denied := require_key(request, _bearer(request))) is not None:
                return denied
            store.count("delete")
            if not store.delete(call_id):
                return _not_found(call_id)
            return Response(status_code=204)

        # Retell's recordings live on a CDN that takes no API key: neither does this route.
        @router.get(RECORDINGS + "{name}")
        async def recording(name: str) -> Response:
            store.count("audio")
            call_id = name.removesuffix(".mp3")
            call = store.get(call_id)
            if call is None or name == call_id or not call.get("recording_url"):
                return _not_found(call_id)
            return Response(generate_audio_bytes(call_id), media_type="audio/mpeg")

        return router


VENDOR = RetellSimulator()


# ------------------------------------------------------------------ the API


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _not_found(call_id: str) -> Response:
    return _json({"status": "error", "message": f"Call {call_id} not found"}, 404)


def _list_params(raw: bytes) -> dict[str, Any]:
    try:
        params = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise BadRequest("request body is not JSON") from None
    if not isinstance(params, dict):
        raise BadRequest("request body must be a JSON object")
    limit = params.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_LIMIT}")
    if params.get("sort_order", "descending") not in ("ascending", "descending"):
        raise BadRequest("sort_order must be ascending or descending")
    if params.get("filter_criteria") is not None and not isinstance(params["filter_criteria"], dict):
        raise BadRequest("filter_criteria must be an object")
    return params


def _page(store: SimulatorStore, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The calls of one page and the key of the next (None on the last)."""
    limit: int = params.get("limit", DEFAULT_LIMIT)
    descending = params.get("sort_order", "descending") == "descending"
    keep = _filter(params.get("filter_criteria") or {})
    after = _decode_key(params.get("pagination_key"))
    newest_first = store.ordered()  # by (start_timestamp, call_id), descending
    ordered: Iterable[dict[str, Any]]
    if descending:
        # Binary search past the cursor, so paging a large account does not rescan it page after page.
        skip = 0 if after is None else _first(newest_first, lambda position: position < after)
        ordered = itertools.islice(newest_first, skip, None)
    else:
        stop = len(newest_first) if after is None else _first(newest_first, lambda position: position <= after)
        ordered = reversed(newest_first[:stop])
    page: list[dict[str, Any]] = []
    for call in ordered:
        if keep(call):
            page.append(call)
            if len(page) > limit:
                break
    if len(page) <= limit:
        return page, None
    last = page[limit - 1]
    return page[:limit], _encode_key((last["start_timestamp"], last["call_id"]))


def _first(newest_first: list[dict[str, Any]], test: Callable[[tuple[int, str]], bool]) -> int:
    """The index of the first call whose position passes ``test`` (which holds for a suffix of the list)."""
    low, high = 0, len(newest_first)
    while low < high:
        middle = (low + high) // 2
        call = newest_first[middle]
        if test((call["start_timestamp"], call["call_id"])):
            high = middle
        else:
            low = middle + 1
    return low


def _encode_key(position: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(position))).decode().rstrip("=")


def _decode_key(key: Any) -> tuple[int, str] | None:
    if key is None:
        return None
    try:
        if not isinstance(key, str):
            raise ValueError
        start, call_id = orjson.loads(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)))
        if not isinstance(start, int) or not isinstance(call_id, str):
            raise ValueError
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("pagination_key is not one this API issued") from None
    return start, call_id


def _filter(criteria: dict[str, Any]) -> Predicate:
    """A predicate for the ``filter_criteria`` the simulator understands; others are ignored."""
    tests: list[Predicate] = []
    if (start := criteria.get("start_timestamp")) is not None:
        tests.append(_number_test("start_timestamp", start))
    if (agents := criteria.get("agent")) is not None:
        if not isinstance(agents, list) or not all(isinstance(a, dict) and "agent_id" in a for a in agents):
            raise BadRequest("filter_criteria.agent must be a list of {agent_id}")
        wanted = {a["agent_id"] for a in agents}
        tests.append(lambda call: call["agent_id"] in wanted)
    for field in ("call_status", "call_type", "direction"):
        if (enum := criteria.get(field)) is not None:
            if not isinstance(enum, dict) or enum.get("op") != "in" or not isinstance(enum.get("value"), list):
                raise BadRequest(f"filter_criteria.{field} must be {{op: in, type: enum, value: [...]}}")
            tests.append(_enum_test(field, frozenset(enum["value"])))
    return lambda call: all(test(call) for test in tests)


def _enum_test(field: str, values: frozenset[Any]) -> Predicate:
    return lambda call: call.get(field) in values


def _number_test(field: str, spec: Any) -> Predicate:
    if not isinstance(spec, dict):
        raise BadRequest(f"filter_criteria.{field} must be an object")
    if "lower_threshold" in spec or "upper_threshold" in spec:  # the v2 list's form
        low, high = spec.get("lower_threshold"), spec.get("upper_threshold")
        return lambda call: (low is None or call[field] >= low) and (high is None or call[field] <= high)
    op, value = spec.get("op"), spec.get("value")
    if op == "bt":
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int | float) for v in value)):
            raise BadRequest(f"filter_criteria.{field}: bt takes [lower, upper]")
        low, high = value
        return lambda call: low <= call[field] <= high
    compare = _NUMBER_OPS.get(op) if isinstance(op, str) else None
    if compare is None or isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"filter_criteria.{field} must be {{op, type: number, value}}")
    return lambda call: compare(call[field], value)


# ------------------------------------------------------------------ the calls


def _hex(seed: str, digits: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:digits]


def _call_from_elevenlabs(body: dict[str, Any], seed: int, index: int) -> dict[str, Any]:
    """The Retell call telling the same conversation as an ElevenLabs body."""
    rng = random.Random(f"convhub-retell/{seed}/{index}")
    metadata = body["metadata"]
    phone = metadata.get("phone_call")
    call_id = "call_" + _hex(f"convhub-retell/{seed}/{index}", 32)
    start_ms = metadata["start_time_unix_secs"] * 1000 + int(rng.random() * 1000)
    status, reason = _status(body, rng)

    call: dict[str, Any] = {
        "call_id": call_id,
        "call_type": "phone_call" if phone else "web_call",
        "agent_id": "agent_" + _hex(body["agent_id"], 26),
        "agent_version": 1 + int(_hex(body["agent_id"] + "/version", 2), 16) % 6,
        "agent_name": body["agent_name"],
        "call_status": status,
        "start_timestamp": start_ms,
        "data_storage_setting": "everything",
        "opt_in_signed_url": False,
    }
    if phone:
        outbound = phone["direction"] == "outbound"
        call["direction"] = phone["direction"]
        call["from_number"] = phone["agent_number"] if outbound else phone["external_number"]
        call["to_number"] = phone["external_number"] if outbound else phone["agent_number"]
        if phone.get("type") == "twilio":
            call["telephony_identifier"] = {"twilio_call_sid": phone["call_sid"]}
    else:
        call["access_token"] = "eyJhbGciOiJIUzI1NiJ9." + _hex(call_id + "/token", 40)

    metadata_out: dict[str, Any] = {}
    variables: dict[str, str] = {}
    client_data = body.get("conversation_initiation_client_data") or {}
    customer_name = (client_data.get("dynamic_variables") or {}).get("customer_name")
    if customer_name:
        variables["customer_name"] = customer_name
    if body.get("user_id"):
        if rng.random() < 0.5:
            metadata_out["user_id"] = body["user_id"]
        else:
            variables["user_id"] = body["user_id"]
    if metadata.get("batch_call"):
        metadata_out["campaign"] = metadata["batch_call"]["batch_call_id"]
    call["metadata"] = metadata_out
    call["retell_llm_dynamic_variables"] = variables

    if status == "registered":
        return call
    if status == "not_connected":
        call.update(end_timestamp=start_ms, duration_ms=0, disconnection_reason=reason)
        return call

    transcript = _Transcript()
    transcript.add_elevenlabs_turns(body["transcript"], call_id)
    transcript.write(call)
    if status == "ongoing":
        return call

    duration_ms = max(metadata["call_duration_secs"] * 1000 + int(rng.random() * 1000), transcript.end_ms())
    call["end_timestamp"] = start_ms + duration_ms
    call["duration_ms"] = duration_ms
    call["disconnection_reason"] = reason
    if reason == "call_transfer":
        call["transfer_destination"] = transcript.transfer_number
    _add_costs(call, rng, transcript.agent_turns)
    if body.get("has_audio"):
        call["recording_url"] = f"{RECORDINGS}{call_id}.mp3"
    if status == "ended" and body.get("analysis") is not None:
        call["call_analysis"] = _analysis(body["analysis"], rng)
    return call


def _status(body: dict[str, Any], rng: random.Random) -> tuple[str, str | None]:
    """Retell's call_status and disconnection_reason for the body's status."""
    status = body["status"]
    if status == "initiated":
        return "registered", None
    if status == "in-progress":
        return "ongoing", None
    if status == "failed":
        code = ((body["metadata"].get("error") or {}).get("code")) or 500
        if code in (408, 486):
            return "not_connected", "dial_no_answer" if code == 408 else "dial_busy"
        return "error", "error_llm_websocket_lost_connection" if code == 1011 else "error_retell"
    tools = {call["tool_name"] for turn in body["transcript"] for call in turn.get("tool_calls") or []}
    if "transfer_to_number" in tools:
        reason = "call_transfer"
    elif "end_call" in tools:
        reason = "agent_hangup"
    elif body["metadata"]["call_duration_secs"] >= 900:
        reason = "max_duration_reached"
    else:
        reason = "inactivity" if rng.random() < 0.05 else "user_hangup"
    return "ended", reason


def _analysis(analysis: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    outcome = analysis.get("call_successful")
    r = rng.random()
    if outcome == "success":
        sentiment = "Positive" if r < 0.8 else "Neutral"
    elif outcome == "failure":
        sentiment = "Negative" if r < 0.7 else "Neutral"
    else:
        sentiment = "Neutral" if r < 0.7 else "Unknown"
    data = analysis.get("data_collection_results") or {}
    return {
        "call_successful": True if outcome == "success" else False if outcome == "failure" else None,
        "call_summary": analysis.get("transcript_summary"),
        "user_sentiment": sentiment,
        "in_voicemail": False,
        "custom_analysis_data": {key: item.get("value") for key, item in data.items()},
    }


def _closing_analysis(call: dict[str, Any]) -> dict[str, Any]:
    """The analysis of a call that was still open when generated (its scenario's analysis never existed)."""
    utterances = call.get("transcript_object") or []
    opener = next((u["content"] for u in utterances if u["role"] == "user"), None)
    summary = (f'The customer opened with: "{opener}" The agent handled the request and the call ended normally.'
               if opener else "The agent greeted the customer and the call ended normally.")
    return {
        "call_successful": True,
        "call_summary": summary,
        "user_sentiment": "Neutral",
        "in_voicemail": False,
        "custom_analysis_data": {"wants_callback": False},
    }


def _hang_up(call: dict[str, Any], now_ms: int) -> None:
    """End an open call with a short goodbye, as if it had run until ``now_ms``."""
    transcript = _Transcript.read(call)
    at = transcript.end_ms() / 1000 + 2
    for role, line in (
        ("agent", "Is there anything else I can help you with today?"),
        ("user", "No, that's everything. Thanks!"),
        ("agent", "You're welcome. Have a great day!"),
    ):
        transcript.say(role, line, at, at + 3)
        at += 4
    transcript.write(call)
    duration_ms = max(now_ms - call["start_timestamp"], transcript.end_ms() + 1000)
    call.update(
        call_status="ended",
        end_timestamp=call["start_timestamp"] + duration_ms,
        duration_ms=duration_ms,
        disconnection_reason="user_hangup",
    )
    _add_costs(call, random.Random(call["call_id"]), transcript.agent_turns)
    if call["call_type"] == "phone_call" or random.Random(call["call_id"] + "/audio").random() < 0.9:
        call["recording_url"] = f"{RECORDINGS}{call['call_id']}.mp3"


def _add_costs(call: dict[str, Any], rng: random.Random, agent_turns: int) -> None:
    """``call_cost`` (cents), ``llm_token_usage`` and ``latency`` of an ended call."""
    seconds = call["duration_ms"] / 1000
    products = [("elevenlabs_tts", 0.1166667), ("gpt_4o_mini", 0.01)]
    if call["call_type"] == "phone_call":
        products.append(("retell_twilio", 0.0166667))
    product_costs = [
        {"product": product, "unit_price": unit, "cost": round(unit * seconds, 4)} for product, unit in products
    ]
    call["call_cost"] = {
        "product_costs": product_costs,
        "total_duration_seconds": round(seconds),
        "total_duration_unit_price": round(sum(unit for _, unit in products), 7),
        "combined_cost": round(sum(item["cost"] for item in product_costs), 4),
    }
    requests = max(1, agent_turns)
    tokens = [1800 + int(rng.random() * 900) + 120 * k for k in range(requests)]
    call["llm_token_usage"] = {"values": tokens, "average": round(sum(tokens) / requests, 2),
                               "num_requests": requests}
    e2e = sorted(600 + int(rng.random() * 900) for _ in range(requests))
    call["latency"] = {"e2e": {
        "min": e2e[0], "max": e2e[-1], "num": len(e2e), "p50": e2e[len(e2e) // 2],
        "p90": e2e[int(len(e2e) * 0.9)], "p95": e2e[int(len(e2e) * 0.95)], "p99": e2e[int(len(e2e) * 0.99)],
    }}


class _Transcript:
    """A call's transcript being built in Retell's three forms at once."""

    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []  # transcript_object: utterances only
        self.with_tools: list[dict[str, Any]] = []  # transcript_with_tool_calls
        self.agent_turns = 0
        self.transfer_number: str | None = None

    @classmethod
    def read(cls, call: dict[str, Any]) -> _Transcript:
        transcript = cls()
        transcript.objects = list(call.get("transcript_object") or [])
        transcript.with_tools = list(call.get("transcript_with_tool_calls") or [])
        transcript.agent_turns = sum(1 for u in transcript.objects if u["role"] == "agent")
        return transcript

    def write(self, call: dict[str, Any]) -> None:
        call["transcript"] = "".join(
            f"{'Agent' if u['role'] == 'agent' else 'User'}: {u['content']}\n" for u in self.objects
        )
        call["transcript_object"] = self.objects
        call["transcript_with_tool_calls"] = self.with_tools

    def end_ms(self) -> int:
        ends = [word["end"] for u in self.objects for word in u["words"][-1:]]
        return int(max(ends, default=0) * 1000)

    def say(self, role: str, text: str, start: float, next_start: float) -> None:
        words = text.split()
        step = min(_WORD_SECS, max(next_start - start, 0.5) / max(len(words), 1))
        utterance: dict[str, Any] = {
            "role": role,
            "content": text,
            "words": [
                {"word": word, "start": round(start + k * step, 3), "end": round(start + (k + 0.85) * step, 3)}
                for k, word in enumerate(words)
            ],
        }
        if role == "agent":
            self.agent_turns += 1
            utterance["metadata"] = {"response_id": self.agent_turns}
        self.objects.append(utterance)
        self.with_tools.append(utterance)

    def add_elevenlabs_turns(self, turns: list[dict[str, Any]], call_id: str) -> None:
        for i, turn in enumerate(turns):
            start = float(turn["time_in_call_secs"])
            next_start = float(turns[i + 1]["time_in_call_secs"]) if i + 1 < len(turns) else start + 8
            if turn.get("message"):
                self.say(turn["role"], turn["message"], start, next_start)
            for tool_call in turn.get("tool_calls") or []:
                self._invoke(tool_call, call_id)
            for result in turn.get("tool_results") or []:
                self.with_tools.append({
                    "role": "tool_call_result",
                    "tool_call_id": _tool_call_id(call_id, result["request_id"]),
                    "content": result["result_value"],
                    "successful": not result["is_error"],
                })

    def _invoke(self, tool_call: dict[str, Any], call_id: str) -> None:
        name = tool_call["tool_name"]
        kind = "custom"
        if name == "transfer_to_number":
            name = kind = "transfer_call"
            params = orjson.loads(tool_call["params_as_json"])
            self.transfer_number = params.get("transfer_number")
        elif name == "end_call":
            kind = "end_call"
        self.with_tools.append({
            "role": "tool_call_invocation",
            "tool_call_id": _tool_call_id(call_id, tool_call["request_id"]),
            "name": name,
            "arguments": tool_call["params_as_json"],
            "type": kind,
        })


def _tool_call_id(call_id: str, request_id: str) -> str:
    return "tool_call_" + _hex(f"{call_id}/{request_id}", 16)
