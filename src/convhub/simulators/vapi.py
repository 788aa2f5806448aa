"""The Vapi simulator: ``GET /call``, ``GET|DELETE /call/{id}`` and call recordings on loopback.

Calls are the generated ElevenLabs scenarios (``simulators/generate.py``)
retold in Vapi's ``Call`` shape, so the three simulators tell the same kind of
stories: the transcript becomes ``artifact.messages`` (with ``tool_calls`` and
``tool_call_result`` messages), the analysis becomes ``analysis.summary``,
``structuredData`` and a rubric's ``successEvaluation``, the cost is USD with
its breakdown. Everything is deterministic in the seed and the index; ids are
UUIDs derived from them.

What the sync client must cope with is here on purpose:

* calls sharing one ``createdAt`` to the millisecond (groups of 2 to 5), since
  ``GET /call`` pages by a ``createdAt`` window and ties sit on page edges;
* calls not over yet: ``queued``, ``ringing``, ``in-progress`` and
  ``forwarding`` (``POST /_simulator/finish`` ends them);
* failures in both of Vapi's senses: calls that never connected
  (``customer-did-not-answer``…) and calls that errored mid-way.

Recordings are served by the simulator itself under ``/_recordings/`` (a
vendor route: latency and faults apply) at absolute URLs built from
``options.public_url``. ``generate`` does not see the store, so
:meth:`_VapiSimulator.routes` hands the store a copy of the vendor bound to
that URL and fixes up the calls generated before it.

Webhooks are Vapi server messages (``status-update`` in-progress and ended,
then ``end-of-call-report``) signed with Vapi's default HMAC plan: hex
SHA-256 of ``{timestamp}.{body}`` in ``x-signature``, the millisecond
timestamp in ``x-timestamp``.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from convhub.simulators.common import SimulatorStore, require_key
from convhub.simulators.generate import generate_audio_bytes, generate_elevenlabs_conversation

__all__ = ["RECORDINGS_PATH", "VENDOR"]

RECORDINGS_PATH = "/_recordings/"
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_TIE_BLOCK = 5  # calls are grouped in blocks of five; some blocks share one createdAt
_MAX_AUDIO_SECS = 120

# The generated scenarios' tools under the names Vapi's built-in tools have.
_TOOL_NAMES = {"end_call": "endCall", "transfer_to_number": "transferCall"}
_SYSTEM_PROMPT = (
    "You are {name}, a voice assistant. Greet the caller, find out what they need, use your tools to look "
    "things up or act on their behalf, and keep answers short and friendly. Transfer to a human when asked."
)
_FAILURES_PHONE = (
    ("customer-did-not-answer", False),
    ("customer-busy", False),
    ("twilio-failed-to-connect-call", False),
    ("pipeline-error-openai-llm-failed", True),
    ("call.in-progress.error-assistant-did-not-receive-customer-audio", True),
)
_FAILURES_WEB = (
    ("customer-did-not-give-microphone-permission", False),
    ("pipeline-error-openai-llm-failed", True),
    ("pipeline-error-eleven-labs-voice-failed", True),
)


class _VapiSimulator:
    """Vapi's shapes for :mod:`convhub.simulators.common`; ``public_url`` prefixes recording URLs."""

    name = "vapi"

    def __init__(self, public_url: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        self._created_ms: dict[tuple[Any, ...], int] = {}

    # -- generation -------------------------------------------------------------------

    def generate(self, index: int, *, seed: int, agents: int, start: datetime, span_days: int) -> dict[str, Any]:
        el = generate_elevenlabs_conversation(index, seed=seed, agents=agents, start=start, span_days=span_days)
        rng = random.Random(f"convhub-vapi/{seed}/{index}")
        own_ms = el["metadata"]["start_time_unix_secs"] * 1000 + rng.randrange(1000)
        settings = (seed, agents, start, span_days)
        self._remember(settings, index, own_ms)
        block, position = divmod(index, _TIE_BLOCK)
        created_ms = own_ms
        if 0 < position < _tie_group_size(seed, block):
            created_ms = self._leader_ms(settings, block * _TIE_BLOCK)
        return self._call(el, rng, seed=seed, index=index, created_ms=created_ms)

    def _remember(self, settings: tuple[Any, ...], index: int, created_ms: int) -> None:
        if len(self._created_ms) > 4096:
            self._created_ms.clear()
        self._created_ms[(*settings, index)] = created_ms

    def _leader_ms(self, settings: tuple[Any, ...], leader: int) -> int:
        """The createdAt the block's first call has (generated again when it was not seen just before)."""
        known = self._created_ms.get((*settings, leader))
        if known is not None:
            return known
        seed, agents, start, span_days = settings
        el = generate_elevenlabs_conversation(leader, seed=seed, agents=agents, start=start, span_days=span_days)
        rng = random.Random(f"convhub-vapi/{seed}/{leader}")
        created_ms: int = el["metadata"]["start_time_unix_secs"] * 1000 + rng.randrange(1000)
        self._remember(settings, leader, created_ms)
        return created_ms

    def _call(
        self, el: dict[str, Any], rng: random.Random, *, seed: int, index: int, created_ms: int
    ) -> dict[str, Any]:
        meta = el["metadata"]
        phone = meta.get("phone_call")
        tools = {c["tool_name"] for t in el["transcript"] for c in t.get("tool_calls") or []}
        status = _status(el["status"], "transfer_to_number" in tools, rng)

        call_id = _uuid("call", seed, index)
        assistant_id = _uuid("assistant", el["agent_id"])
        connected = status not in ("queued", "ringing")
        ended_reason: str | None = None
        if el["status"] == "failed":
            failures = _FAILURES_PHONE if phone else _FAILURES_WEB
            ended_reason, connected = failures[int(rng.random() * len(failures))]
        elif status == "ended":
            ended_reason = _ended_reason(meta.get("termination_reason") or "", tools, rng)

        ring_ms = rng.randint(800, 4000) if phone else rng.randint(200, 900)
        started_ms = created_ms + ring_ms if connected else None
        messages: list[dict[str, Any]] = []
        transfer_number: str | None = None
        if started_ms is not None:
            messages, transfer_number = _messages(el, started_ms, rng, assistant_id)

        call: dict[str, Any] = {
            "id": call_id,
            "orgId": _uuid("org", seed),
            "type": ("outboundPhoneCall" if phone["direction"] == "outbound" else "inboundPhoneCall")
            if phone else "webCall",
            "status": status,
        }
        ended_ms = _add_times(call, rng, ended_reason, created_ms, started_ms, meta["call_duration_secs"], messages)
        call["assistantId"] = assistant_id
        _add_customer(call, el, connected)

        if transfer_number is not None and (status == "forwarding" or ended_reason == "assistant-forwarded-call"):
            call["destination"] = {
                "type": "number",
                "number": transfer_number,
                "message": "Transferring you now, please hold.",
                "description": "Human support team",
            }
        if status == "ended":
            _add_cost(call, rng, messages, phone is not None, started_ms, ended_ms)
            call["analysis"] = _analysis(el, assistant_id, rng) if connected else {}
        if connected or status == "ended":
            artifact: dict[str, Any] = {"messages": messages, "transcript": _transcript(messages)}
            if status == "ended" and el["has_audio"]:
                artifact["recordingUrl"] = self._recording_url(call_id)
            call["artifact"] = artifact
        return call

    def _recording_url(self, call_id: str) -> str:
        return f"{self.public_url}{RECORDINGS_PATH}{call_id}.mp3"

    # -- SimulatedVendor ----------------------------------------------------------------

    def conversation_id(self, conversation: dict[str, Any]) -> str:
        return str(conversation["id"])

    def started_ms(self, conversation: dict[str, Any]) -> int:
        """``createdAt``: what ``GET /call`` sorts and filters by."""
        return _ms(conversation["createdAt"])

    def is_final(self, conversation: dict[str, Any]) -> bool:
        return bool(conversation.get("status") == "ended")

    def finish(self, conversation: dict[str, Any], now: datetime) -> dict[str, Any]:
        if self.is_final(conversation):
            return conversation
        call = copy.deepcopy(conversation)
        rng = random.Random(f"convhub-vapi-finish/{call['id']}")
        created_ms = _ms(call["createdAt"])
        started_ms = _ms(call["startedAt"]) if call.get("startedAt") else created_ms + rng.randint(800, 3_000)
        artifact = call.setdefault("artifact", {})
        messages: list[dict[str, Any]] = artifact.setdefault("messages", [])
        assistant_id = str(call.get("assistantId") or "")
        if not messages:
            messages.append({"role": "system", "message": _SYSTEM_PROMPT.format(name="the assistant"),
                             "time": started_ms, "secondsFromStart": 0})
            _say(messages, started_ms, 0.4, "bot", "Hi, thanks for calling. How can I help you today?", assistant_id)
            _say(messages, started_ms, 4.2, "user", "I just wanted to check you got my message. That's all, thanks.",
                 assistant_id)
        last = max(float(m.get("secondsFromStart") or 0) for m in messages)
        _say(messages, started_ms, last + 2.5, "bot", "You're welcome. Thanks for calling, have a great day!",
             assistant_id)
        ended_ms = started_ms + int((last + 6.5) * 1000)
        forwarded = call["status"] == "forwarding"
        call["status"] = "ended"
        call["endedReason"] = "assistant-forwarded-call" if forwarded else "customer-ended-call"
        call["startedAt"] = _iso(started_ms)
        call["endedAt"] = _iso(ended_ms)
        call["updatedAt"] = _iso(max(int(now.timestamp() * 1000), ended_ms + 2_000))
        phone = str(call.get("type", "")).endswith("PhoneCall")
        _add_cost(call, rng, messages, phone, started_ms, ended_ms)
        call["analysis"] = {
            "summary": "The caller's request was handled and the call ended normally."
            + (" The call was transferred to a human agent." if forwarded else ""),
            "structuredData": {"wants_callback": False},
            "successEvaluation": "true",
        }
        artifact["transcript"] = _transcript(messages)
        artifact["recordingUrl"] = self._recording_url(call["id"])
        return call

    def webhook_deliveries(
        self, conversation: dict[str, Any], secret: str, now: datetime
    ) -> list[tuple[dict[str, str], bytes]]:
        """What Vapi posts for the call: status updates, then the end-of-call report, HMAC-signed."""
        if not self.is_final(conversation):
            message = {"type": "status-update", "status": conversation["status"],
                       "timestamp": _ms(conversation["updatedAt"]), "call": conversation}
            return [_signed({"message": message}, secret, now)]
        connected = conversation.get("startedAt") is not None
        live = _snapshot(conversation, "in-progress" if connected else "ringing")
        ended = _snapshot(conversation, "ended")
        ended["endedReason"] = conversation.get("endedReason")
        ended["endedAt"] = conversation.get("endedAt")
        around: dict[str, Any] = {k: conversation[k] for k in ("customer", "phoneNumber") if k in conversation}
        messages: list[dict[str, Any]] = [
            {"type": "status-update", "status": live["status"],
             "timestamp": _ms(conversation.get("startedAt") or conversation["createdAt"]), "call": live, **around},
            {"type": "status-update", "status": "ended", "endedReason": conversation.get("endedReason"),
             "timestamp": _ms(conversation["endedAt"]), "call": ended, **around},
        ]
        report: dict[str, Any] = {
            "type": "end-of-call-report",
            "endedReason": conversation.get("endedReason"),
            "timestamp": _ms(conversation["updatedAt"]),
            "artifact": conversation.get("artifact") or {"messages": []},
            "analysis": conversation.get("analysis") or {},
            "call": {**ended, "updatedAt": conversation["updatedAt"]},  # the report lands with the analysis
            **around,
        }
        for key in ("cost", "costs", "costBreakdown", "destination", "startedAt", "endedAt"):
            if conversation.get(key) is not None:
                report[key] = conversation[key]
        messages.append(report)
        return [_signed({"message": message}, secret, now) for message in messages]

    def is_binary(self, path: str) -> bool:
        return path.startswith(RECORDINGS_PATH)

    # -- the API ------------------------------------------------------------------------

    def routes(self, store: SimulatorStore) -> APIRouter:
        vendor = _VapiSimulator(store.options.public_url)
        store.vendor = vendor  # later calls (POST /_simulator/add) get absolute recording URLs too
        for call in store.by_id.values():
            artifact = call.get("artifact")
            if isinstance(artifact, dict) and str(artifact.get("recordingUrl", "")).startswith(RECORDINGS_PATH):
                artifact["recordingUrl"] = vendor.public_url + artifact["recordingUrl"]
        return _router(store)


def _router(store: SimulatorStore) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    index: dict[str, Any] = {"ordered": None, "keys": []}

    def newest_first() -> tuple[list[dict[str, Any]], list[int]]:
        ordered = store.ordered()
        if index["ordered"] is not ordered:  # the store re-sorts after every add/delete/finish
            index["ordered"] = ordered
            index["keys"] = [-store.vendor.started_ms(call) for call in ordered]
        return ordered, index["keys"]

    @router.get("/call")
    async def list_calls(request: Request) -> Response:
        if (denied := _authorize(request)) is not None:
            return denied
        store.count("list")
        params = request.query_params
        try:
            limit = _limit(params.get("limit"))
            created = {op: _param_us(params, f"createdAt{op}") for op in ("Gt", "Ge", "Lt", "Le")}
            updated = {op: _param_us(params, f"updatedAt{op}") for op in ("Gt", "Ge", "Lt", "Le")}
        except ValueError as exc:
            return _error(400, "Bad Request", [str(exc)])
        ordered, keys = newest_first()
        # keys are -createdAt in ms, ascending: bisect to the createdAt window, then filter the rest.
        lo, hi = 0, len(ordered)
        if created["Le"] is not None:
            lo = max(lo, bisect.bisect_left(keys, -(created["Le"] // 1000)))
        if created["Lt"] is not None:
            lo = max(lo, bisect.bisect_left(keys, -(_ceil_div(created["Lt"], 1000) - 1)))
        if created["Ge"] is not None:
            hi = min(hi, bisect.bisect_right(keys, -_ceil_div(created["Ge"], 1000)))
        if created["Gt"] is not None:
            hi = min(hi, bisect.bisect_right(keys, -(created["Gt"] // 1000 + 1)))
        wanted = {k: params.get(k) for k in ("id", "assistantId", "phoneNumberId") if params.get(k)}
        page: list[dict[str, Any]] = []
        for call in ordered[lo:hi]:
            if any(call.get(k) != v for k, v in wanted.items()) or not _within(call["updatedAt"], updated):
                continue
            page.append(call)
            if len(page) >= limit:
                break
        return Response(orjson.dumps(page), media_type="application/json")

    @router.get("/call/{call_id}")
    async def get_call(call_id: str, request: Request) -> Response:
        if (denied := _authorize(request)) is not None:
            return denied
        store.count("detail")
        call = store.get(call_id)
        if call is None:
            return _error(404, "Not Found", "Couldn't Get Call. Call Not Found.")
        return Response(orjson.dumps(call), media_type="application/json")

    @router.delete("/call/{call_id}")
    async def delete_call(call_id: str, request: Request) -> Response:
        if (denied := _authorize(request)) is not None:
            return denied
        store.count("delete")
        call = store.get(call_id)
        if call is None or not store.delete(call_id):
            return _error(404, "Not Found", "Couldn't Delete Call. Call Not Found.")
        return Response(orjson.dumps(call), media_type="application/json")

    @router.get(RECORDINGS_PATH + "{call_id}.mp3")
    async def recording(call_id: str) -> Response:
        # Like Vapi's storage links, the URL itself is the credential: no API key needed.
        store.count("audio")
        call = store.get(call_id)
        artifact = call.get("artifact") if call is not None else None
        if call is None or not isinstance(artifact, dict) or not artifact.get("recordingUrl"):
            return _error(404, "Not Found", "Recording not found.")
        seconds = (_ms(call["endedAt"]) - _ms(call["startedAt"])) // 1000
        audio = generate_audio_bytes(call_id, seconds=max(1, min(seconds, _MAX_AUDIO_SECS)))
        return Response(audio, media_type="audio/mpeg")

    return router


# ----------------------------------------------------------------------- the call's parts


def _tie_group_size(seed: int, block: int) -> int:
    """How many calls at the start of ``block`` share its first call's createdAt (1: none; else 2 to 5)."""
    roll = int(hashlib.sha256(f"convhub-vapi-ties/{seed}/{block}".encode()).hexdigest()[:8], 16) % 10
    return 1 if roll < 6 else roll - 4


def _status(el_status: str, transferred: bool, rng: random.Random) -> str:
    """The Vapi status of a call whose ElevenLabs twin has ``el_status``."""
    if el_status in ("done", "failed"):
        return "ended"
    if el_status == "initiated":
        return "queued" if rng.random() < 0.5 else "ringing"
    if el_status == "in-progress" and transferred and rng.random() < 0.5:
        return "forwarding"
    return "in-progress"  # in-progress, or processing (the call is in its last exchange)


def _add_times(
    call: dict[str, Any],
    rng: random.Random,
    ended_reason: str | None,
    created_ms: int,
    started_ms: int | None,
    duration_secs: int,
    messages: list[dict[str, Any]],
) -> int | None:
    """Sets ``endedReason`` and the call's timestamps as its status has them; returns when it ended (if it did)."""
    status = call["status"]
    last_ms = max([created_ms, *(m["time"] for m in messages)])
    ended_ms: int | None = None
    if status == "ended":
        if started_ms is not None:
            ended_ms = max(started_ms + duration_secs * 1000 + rng.randint(0, 999), last_ms + 800)
        else:
            wait = rng.randint(20_000, 30_000) if ended_reason == "customer-did-not-answer" else rng.randint(
                1_500, 6_000)
            ended_ms = created_ms + wait
        call["endedReason"] = ended_reason
        updated_ms = ended_ms + rng.randint(2_000, 9_000)  # the analysis lands a few seconds later
    elif status == "ringing":
        updated_ms = created_ms + rng.randint(300, 1_500)
    elif status == "queued":
        updated_ms = created_ms
    else:
        updated_ms = last_ms
    call["createdAt"] = _iso(created_ms)
    call["updatedAt"] = _iso(updated_ms)
    if started_ms is not None:
        call["startedAt"] = _iso(started_ms)
    if ended_ms is not None:
        call["endedAt"] = _iso(ended_ms)
    return ended_ms


def _add_customer(call: dict[str, Any], el: dict[str, Any], connected: bool) -> None:
    """The phone line and the customer (phone calls), and the variables the assistant was given."""
    phone = el["metadata"].get("phone_call")
    dynamic = (el.get("conversation_initiation_client_data") or {}).get("dynamic_variables") or {}
    customer_name = dynamic.get("customer_name")
    user_id = el.get("user_id")
    if phone:
        call["phoneNumberId"] = _uuid("phone-number", phone["phone_number_id"])
        call["phoneNumber"] = {
            "provider": "twilio" if phone["type"] == "twilio" else "vapi",
            "number": phone["agent_number"],
            "name": el["agent_name"].split("(")[-1].rstrip(")") + " line",
        }
        call["phoneCallProvider"] = "twilio" if phone["type"] == "twilio" else "vapi"
        call["phoneCallTransport"] = "pstn" if phone["type"] == "twilio" else "sip"
        if connected:
            call["phoneCallProviderId"] = phone["call_sid"]
        customer: dict[str, Any] = {"number": phone["external_number"]}
        if customer_name:
            customer["name"] = customer_name
        if user_id:
            customer["externalId"] = user_id
        call["customer"] = customer
    overrides: dict[str, Any] = {}
    if customer_name:
        overrides["variableValues"] = {"customerName": customer_name}
    if user_id and not phone:
        overrides["metadata"] = {"userId": user_id}
    if overrides:
        call["assistantOverrides"] = overrides


def _ended_reason(termination: str, tools: set[str], rng: random.Random) -> str:
    if "transfer_to_number" in tools:
        return "assistant-forwarded-call"
    if "end_call" in tools:
        return "assistant-ended-call" if rng.random() < 0.7 else "assistant-said-end-call-phrase"
    if termination.startswith("Maximum call duration"):
        return "exceeded-max-duration"
    return "customer-ended-call" if rng.random() < 0.9 else "silence-timed-out"


def _messages(
    el: dict[str, Any], started_ms: int, rng: random.Random, assistant_id: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The scenario's turns as Vapi messages, and the number the call was transferred to (if it was)."""
    name = el["agent_name"]
    messages: list[dict[str, Any]] = [
        {"role": "system", "message": _SYSTEM_PROMPT.format(name=name), "time": started_ms, "secondsFromStart": 0}
    ]
    calls: dict[str, tuple[str, str]] = {}  # scenario request id → (Vapi tool call id, tool name)
    transfer_number: str | None = None
    clock = _Clock(rng)
    for turn in el["transcript"]:
        base = float(turn["time_in_call_secs"])
        if turn.get("message"):
            _say(messages, started_ms, clock.at(base), "user" if turn["role"] == "user" else "bot", turn["message"],
                 assistant_id, rng, name)
        for tool_call in turn.get("tool_calls") or []:
            el_name = tool_call["tool_name"]
            arguments = tool_call["params_as_json"]
            if el_name == "transfer_to_number":
                transfer_number = json.loads(arguments).get("transfer_number")
                arguments = json.dumps({"destination": transfer_number})
            elif el_name == "end_call":
                arguments = "{}"
            call_id = f"call_{rng.getrandbits(96):024x}"
            vapi_name = _TOOL_NAMES.get(el_name, el_name)
            calls[tool_call["request_id"]] = (call_id, vapi_name)
            seconds = clock.at(base)
            messages.append({
                "role": "tool_calls",
                "time": started_ms + int(seconds * 1000),
                "message": "",
                "toolCalls": [{"id": call_id, "type": "function",
                               "function": {"name": vapi_name, "arguments": arguments}}],
                "secondsFromStart": seconds,
            })
        for result in turn.get("tool_results") or []:
            if result["tool_name"] in _TOOL_NAMES:  # Vapi's built-in endCall/transferCall report no result
                continue
            call_id, vapi_name = calls.get(result["request_id"], (f"call_{rng.getrandbits(96):024x}",
                                                                   result["tool_name"]))
            seconds = clock.at(base)
            messages.append({
                "role": "tool_call_result",
                "time": started_ms + int(seconds * 1000),
                "secondsFromStart": seconds,
                "name": vapi_name,
                "result": result["result_value"],
                "toolCallId": call_id,
            })
    return messages, transfer_number


class _Clock:
    """Seconds from start for successive messages: near the scenario's whole seconds, strictly increasing."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.last = 0.0

    def at(self, base: float) -> float:
        self.last = round(max(self.last + 0.05, base + self.rng.random() * 0.6), 3)
        return self.last


def _say(
    messages: list[dict[str, Any]], started_ms: int, seconds: float, role: str, text: str, assistant_id: str,
    rng: random.Random | None = None, assistant_name: str | None = None,
) -> None:
    spoken_ms = max(600, len(text.split()) * 320) + (rng.randint(0, 400) if rng else 200)
    time_ms = started_ms + int(seconds * 1000)
    message: dict[str, Any] = {"role": role, "time": time_ms, "endTime": time_ms + spoken_ms, "message": text}
    if role == "bot":
        message["source"] = ""
        if assistant_id:
            message["assistantId"] = assistant_id
        if assistant_name:
            message["assistantName"] = assistant_name
    message["duration"] = spoken_ms
    message["secondsFromStart"] = round(seconds, 3)
    messages.append(message)


def _transcript(messages: list[dict[str, Any]]) -> str:
    lines = []
    for message in messages:
        if message["role"] in ("user", "bot") and message.get("message"):
            lines.append(f"{'AI' if message['role'] == 'bot' else 'User'}: {message['message']}")
    return "\n".join(lines) + ("\n" if lines else "")


def _analysis(el: dict[str, Any], assistant_id: str, rng: random.Random) -> dict[str, Any]:
    source = el.get("analysis") or {}
    analysis: dict[str, Any] = {}
    if source.get("transcript_summary"):
        analysis["summary"] = source["transcript_summary"]
    collected = source.get("data_collection_results") or {}
    analysis["structuredData"] = {key: item.get("value") for key, item in collected.items()}
    outcome = source.get("call_successful", "unknown")
    if int(assistant_id[:8], 16) % 5 == 0:  # this assistant's rubric is NumericScale (1 to 10)
        score = {"success": rng.randint(7, 10), "failure": rng.randint(1, 4)}.get(outcome, rng.randint(5, 6))
        analysis["successEvaluation"] = str(score)
    elif outcome in ("success", "failure"):  # PassFail; no verdict when the evaluator could not tell
        analysis["successEvaluation"] = "true" if outcome == "success" else "false"
    return analysis


def _add_cost(
    call: dict[str, Any], rng: random.Random, messages: list[dict[str, Any]], phone: bool,
    started_ms: int | None, ended_ms: int | None,
) -> None:
    """USD cost as Vapi itemises it: transport, transcriber, model, voice, platform, analysis."""
    minutes = 0.0 if started_ms is None or ended_ms is None else round((ended_ms - started_ms) / 60_000, 4)
    turns = sum(1 for m in messages if m["role"] == "bot")
    prompt_tokens = turns * rng.randint(700, 1_400)
    completion_tokens = turns * rng.randint(20, 60)
    characters = sum(len(m.get("message") or "") for m in messages if m["role"] == "bot")
    transport = round(0.0085 * minutes, 4) if phone else 0.0
    stt = round(0.01 * minutes, 4)
    llm = round(prompt_tokens * 0.15e-6 + completion_tokens * 0.6e-6, 4)
    tts = round(characters * 0.00003, 4)
    platform = round(0.05 * minutes, 4)
    analysis = round(0.0006 + rng.random() * 0.0008, 4) if minutes else 0.0
    total = round(transport + stt + llm + tts + platform + analysis, 4)
    call["cost"] = total
    call["costBreakdown"] = {
        "transport": transport, "stt": stt, "llm": llm, "tts": tts, "vapi": platform, "chat": 0, "total": total,
        "llmPromptTokens": prompt_tokens, "llmCompletionTokens": completion_tokens, "ttsCharacters": characters,
        "analysisCostBreakdown": {"summary": round(analysis / 2, 4), "structuredData": round(analysis / 4, 4),
                                  "successEvaluation": round(analysis / 4, 4)},
    }
    call["costs"] = [
        *([{"type": "transport", "provider": "twilio", "minutes": minutes, "cost": transport}] if phone else []),
        {"type": "transcriber", "transcriber": {"provider": "deepgram", "model": "nova-3"}, "minutes": minutes,
         "cost": stt},
        {"type": "model", "model": {"provider": "openai", "model": "gpt-4o-mini"}, "promptTokens": prompt_tokens,
         "completionTokens": completion_tokens, "cost": llm},
        {"type": "voice", "voice": {"provider": "11labs", "voiceId": "burt"}, "characters": characters, "cost": tts},
        {"type": "vapi", "subType": "normal", "minutes": minutes, "cost": platform},
    ]


def _snapshot(call: Mapping[str, Any], status: str) -> dict[str, Any]:
    """The call object as a server message carries it at ``status``: before cost, analysis and artifact."""
    snapshot = {k: copy.deepcopy(v) for k, v in call.items() if k not in (
        "endedReason", "endedAt", "cost", "costs", "costBreakdown", "analysis", "artifact", "destination")}
    snapshot["status"] = status
    moment = call.get("startedAt") or call["createdAt"]
    snapshot["updatedAt"] = call.get("endedAt") if status == "ended" else moment
    return snapshot


def _signed(payload: dict[str, Any], secret: str, now: datetime) -> tuple[dict[str, str], bytes]:
    body = orjson.dumps(payload)
    timestamp = str(int(now.timestamp() * 1000))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"x-signature": signature, "x-timestamp": timestamp}, body


# ----------------------------------------------------------------------- HTTP helpers


def _authorize(request: Request) -> Response | None:
    header = request.headers.get("authorization", "")
    presented = header[7:].strip() if header[:7].lower() == "bearer " else None
    return require_key(request, presented)


def _error(status: int, error: str, message: str | list[str]) -> Response:
    body = {"message": message, "error": error, "statusCode": status}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = float(raw)  # the official SDK types it as a float ("100.0" is fine)
    except ValueError:
        raise ValueError("limit must be a number") from None
    if value != int(value) or value < 0:
        raise ValueError("limit must be a non-negative integer")
    if value > MAX_LIMIT:
        raise ValueError(f"limit must not be greater than {MAX_LIMIT}")
    return int(value)


def _param_us(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name} must be an ISO 8601 date string") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _us(moment)


def _within(updated_at: str, bounds: Mapping[str, int | None]) -> bool:
    if all(v is None for v in bounds.values()):
        return True
    us = _ms(updated_at) * 1000
    gt, ge, lt, le = bounds["Gt"], bounds["Ge"], bounds["Lt"], bounds["Le"]
    return (
        (gt is None or us > gt) and (ge is None or us >= ge) and (lt is None or us < lt) and (le is None or us <= le)
    )


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _uuid(*parts: object) -> str:
    digest = hashlib.sha256("/".join(map(str, ("convhub-vapi", *parts))).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _us(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _ms(value: str) -> int:
    moment = datetime.fromisoformat(value)
    return _us(moment if moment.tzinfo else moment.replace(tzinfo=UTC)) // 1000


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


VENDOR = _VapiSimulator()
