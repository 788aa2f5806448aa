"""Vapi ``Call`` JSON → convhub's normalized ``ConversationIn``.

``GET /call``, ``GET /call/{id}`` and the server messages (webhooks) all carry
Vapi's ``Call`` object; the sync engine and the webhook processor hand it here.
The mapping is pure (no I/O, no clock), so it is tested on recorded payloads
alone. Identifiers, timestamps and the fields convhub files are read strictly:
a wrong type raises :class:`MappingError` naming the field; everything else
survives untouched in ``raw``.

The few helpers the client needs to list calls without mapping them whole
(:func:`call_created_at`, :func:`call_agent`, :func:`recording_url`) live here
too, so every Vapi field name is read in one module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from convhub.conversations.schemas import (
    AgentRef,
    CallSuccessful,
    ConversationIn,
    DataCollectionIn,
    Direction,
    EvaluationResultIn,
    Role,
    Status,
    TurnIn,
)
from convhub.kit.phones import to_e164
from convhub.providers.base import MappingError
from convhub.providers.fields import as_mapping, kind, opt_mapping, opt_number, opt_str, opt_text, req_mapping, req_str

__all__ = [
    "MappingError",
    "call_agent",
    "call_created_at",
    "conversation_from_vapi",
    "parse_timestamp",
    "recording_url",
]

PROVIDER = "vapi"

# Vapi's call statuses onto convhub's lifecycle; "ended" is split into done/failed below.
_STATUSES = {
    "scheduled": Status.initiated,
    "queued": Status.initiated,
    "ringing": Status.initiated,
    "in-progress": Status.in_progress,
    "forwarding": Status.in_progress,
    "ended": Status.done,
    # The call ended; only a later request to delete it failed.
    "deletion-failed": Status.done,
    # Vapi lost track of the call: nothing more will happen to it.
    "not-found": Status.failed,
}
_FINISHED = frozenset({Status.done, Status.failed})

# ``endedReason`` values meaning the call never became a conversation although nothing "errored".
# Every reason containing "error", "failed" or "fault" (pipeline, provider and start-up errors,
# "twilio-failed-to-connect-call"…) counts as failed without being listed.
_NEVER_CONNECTED = frozenset(
    {
        "customer-busy",
        "customer-did-not-answer",
        "customer-did-not-give-microphone-permission",
        "twilio-reported-customer-misdialed",
        "vonage-rejected",
        "sip-outbound-unallocated-number",
        "assistant-not-found",
        "assistant-not-valid",
        "assistant-join-timed-out",
        "scheduled-call-deleted",
        "phone-call-provider-bypass-enabled-but-no-call-received",
        "call.ringing.sip-inbound-caller-hungup-before-call-connect",
    }
)
_FAILURE_MARKERS = ("error", "failed", "fault")

# ``endedReason`` values meaning the assistant handed the caller on; the destination is the transfer target.
_TRANSFER_REASONS = frozenset(
    {"assistant-forwarded-call", "call.ringing.hook-executed-transfer", "call.ending.hook-executed-transfer"}
)

_CHANNELS = {
    "inboundPhoneCall": ("phone", Direction.inbound),
    "outboundPhoneCall": ("phone", Direction.outbound),
    "webCall": ("web", None),
    # Audio over a WebSocket the customer's own app opens: not telephony.
    "vapi.websocketCall": ("web", None),
}

# ``analysis.successEvaluation`` is free text shaped by the assistant's rubric; only the
# pass/fail answers have an unambiguous meaning. Scores ("7", "85%") and descriptive
# labels ("Good") have no known scale, so they stay ``unknown`` (the text is kept).
_SUCCESS_WORDS = frozenset({"true", "pass", "passed", "yes", "success", "successful"})
_FAILURE_WORDS = frozenset({"false", "fail", "failed", "no", "failure", "unsuccessful"})

_USER_ID_KEYS = ("user_id", "userId")

# Message keys with a column of their own; every other non-null key goes to ``TurnIn.extra``.
_MESSAGE_FIELDS = frozenset({"role", "message", "secondsFromStart", "toolCalls", "toolCallId", "name", "result"})


def conversation_from_vapi(detail: Mapping[str, Any]) -> ConversationIn:
    """Map one Vapi ``Call`` object onto ``ConversationIn``.

    Required: ``id``, ``status`` and ``createdAt``. The agent is ``assistantId``, else
    ``squadId``, else ``workflowId``; a call on a transient assistant names none and is
    filed under ``transient:<assistant name>`` (convhub files every conversation under an agent).

    Decisions worth knowing:

    * **status** — ``scheduled``/``queued``/``ringing`` → initiated, ``in-progress``/
      ``forwarding`` → in-progress, ``ended`` → done, except → failed when the call never
      connected (ended without ``startedAt``, or an ``endedReason`` such as
      ``customer-did-not-answer``/``customer-busy``) or errored (an ``endedReason``
      containing "error", "failed" or "fault"). ``deletion-failed`` → done, ``not-found`` →
      failed. The original is kept in ``provider_status``; an unknown status is a MappingError.
    * **times** — ``started_at`` is ``startedAt``, or ``createdAt`` for a call that never
      started; ``ended_at`` and ``duration_secs`` come from ``endedAt`` once the call is
      over; ``updatedAt`` is the version clock (``source_updated_at``).
    * **channel** — ``inboundPhoneCall``/``outboundPhoneCall`` are phone calls with that
      direction; ``webCall`` and ``vapi.websocketCall`` are ``web``. Without a ``type`` a call
      with a customer number is a phone call.
    * **numbers** — ``customer.number`` (or ``customer.sipUri``) and ``phoneNumber.number``
      (or ``phoneNumber.twilioPhoneNumber``) via ``to_e164``. A call that only names its line
      by ``phoneNumberId`` has no agent number.
    * **user_id** — ``customer.externalId``, else ``user_id``/``userId`` from
      ``assistantOverrides.metadata``, else from ``assistantOverrides.variableValues``.
      ``assistantOverrides.metadata`` is the conversation's custom ``metadata``.
    * **analysis** — ``summary`` → summary; ``successEvaluation`` → ``call_successful``
      (true/pass → success, false/fail → failure, anything else → unknown) and one
      evaluation result ``successEvaluation`` whose rationale is the text Vapi gave;
      each ``structuredData`` key → one data-collection value.
    * **cost** — ``cost`` is USD: ``cost_cents = cost * 100``, ``cost_raw`` in ``usd``;
      ``costBreakdown`` and ``costs`` stay in ``raw``.
    * **turns** — ``artifact.messages`` (else the top-level ``messages``): ``user`` → user,
      ``bot``/``assistant`` → agent, ``system`` → system, ``tool_calls`` → an agent turn with
      its tool calls, ``tool_call_result`` → a tool turn with the result. ``secondsFromStart``
      is the time in call.
    * **transfer_to** — when ``endedReason`` says the assistant forwarded the call: the
      number of ``destination``, else ``forwardedPhoneNumber``, else the last number in
      ``artifact.transfers``.
    * **audio** — ``has_audio`` when the call has a recording URL (``artifact.recordingUrl``,
      ``artifact.recording.mono.combinedUrl`` or ``artifact.stereoRecordingUrl``); the mixed
      recording holds both parties, so user and response audio follow it.
    """
    if not isinstance(detail, Mapping):
        raise MappingError("body", f"expected a JSON object, got {kind(detail)}")
    call_id = req_str(detail, "id", "id")
    try:
        return _map(detail, call_id)
    except MappingError as exc:
        raise MappingError(exc.field, exc.problem, conversation_id=call_id) from None


# ----------------------------------------------------------------------- public helpers


def parse_timestamp(value: Any, field: str) -> datetime:
    """An ISO 8601 timestamp as Vapi writes them (``2025-06-04T13:00:00.123Z``); naive means UTC."""
    if not isinstance(value, str):
        raise MappingError(field, f"expected an ISO 8601 string, got {kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MappingError(field, f"not an ISO 8601 timestamp: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def call_created_at(detail: Mapping[str, Any]) -> datetime:
    """``createdAt``: the key Vapi sorts and filters its call list by."""
    return parse_timestamp(detail.get("createdAt"), "createdAt")


TRANSIENT_AGENT_PREFIX = "transient:"


def call_agent(detail: Mapping[str, Any]) -> AgentRef:
    """The assistant (or squad, or workflow) that took the call, with its name when the call says it."""
    agent_id = (
        opt_str(detail, "assistantId", "assistantId")
        or opt_str(detail, "squadId", "squadId")
        or opt_str(detail, "workflowId", "workflowId")
    )
    name = None
    assistant = opt_mapping(detail, "assistant", "assistant")
    if assistant is not None:
        name = opt_text(assistant, "name", "assistant.name")
    if not agent_id:
        # A transient assistant (defined inline in the call) has no id: its calls gather under one
        # agent per assistant name, so they are filed, not failed run after run.
        agent_id = TRANSIENT_AGENT_PREFIX + (name or "unnamed")
        return AgentRef(provider_agent_id=agent_id[:200], name=name or "Transient assistant")
    if name is None:
        name = _assistant_name_from_messages(detail, agent_id)
    return AgentRef(provider_agent_id=agent_id, name=name)


def recording_url(detail: Mapping[str, Any]) -> str | None:
    """The URL of the call's (mixed) recording, or None when it has none."""
    artifact = opt_mapping(detail, "artifact", "artifact")
    if artifact is not None:
        url = opt_text(artifact, "recordingUrl", "artifact.recordingUrl")
        if url:
            return url
        recording = opt_mapping(artifact, "recording", "artifact.recording")
        mono = None if recording is None else opt_mapping(recording, "mono", "artifact.recording.mono")
        url = None if mono is None else opt_text(mono, "combinedUrl", "artifact.recording.mono.combinedUrl")
        if url:
            return url
        url = opt_text(artifact, "stereoRecordingUrl", "artifact.stereoRecordingUrl")
        if url:
            return url
    return opt_text(detail, "recordingUrl", "recordingUrl")  # calls from before ``artifact`` existed


# ----------------------------------------------------------------------- the mapping


def _map(detail: Mapping[str, Any], call_id: str) -> ConversationIn:
    agent = call_agent(detail)
    provider_status = req_str(detail, "status", "status")
    if provider_status not in _STATUSES:
        raise MappingError("status", f"unknown value {provider_status!r}")

    created_at = call_created_at(detail)
    started = _opt_time(detail, "startedAt")
    ended = _opt_time(detail, "endedAt")
    updated = _opt_time(detail, "updatedAt")
    ended_reason = opt_text(detail, "endedReason", "endedReason")
    status = _status(provider_status, ended_reason, started)

    started_at = started or created_at
    ended_at = ended if status in _FINISHED else None
    duration = 0
    if ended_at is not None and started is not None:
        if ended_at < started:
            raise MappingError("endedAt", "is before startedAt")
        duration = round((ended_at - started).total_seconds())

    channel, direction = _channel(detail)
    customer = opt_mapping(detail, "customer", "customer")
    customer_number = None
    if customer is not None:
        customer_number = to_e164(
            opt_str(customer, "number", "customer.number") or opt_str(customer, "sipUri", "customer.sipUri")
        )
    line = opt_mapping(detail, "phoneNumber", "phoneNumber")
    agent_number = None
    if line is not None:
        agent_number = to_e164(
            opt_str(line, "number", "phoneNumber.number")
            or opt_str(line, "twilioPhoneNumber", "phoneNumber.twilioPhoneNumber")
        )

    overrides = opt_mapping(detail, "assistantOverrides", "assistantOverrides")
    metadata = None if overrides is None else opt_mapping(overrides, "metadata", "assistantOverrides.metadata")

    analysis = opt_mapping(detail, "analysis", "analysis")
    outcome, evaluation = _success(analysis)
    cost = opt_number(detail, "cost", "cost")
    has_audio = recording_url(detail) is not None

    return ConversationIn(
        provider=PROVIDER,
        provider_conversation_id=call_id,
        agent=agent,
        channel=channel,
        direction=direction,
        status=status,
        provider_status=provider_status,
        user_id=_user_id(customer, overrides, metadata),
        customer_number=customer_number,
        agent_number=agent_number,
        started_at=started_at,
        ended_at=ended_at,
        duration_secs=duration,
        call_successful=outcome,
        summary=None if analysis is None else opt_text(analysis, "summary", "analysis.summary"),
        title=opt_text(detail, "name", "name"),
        termination_reason=ended_reason,
        cost_cents=None if cost is None else round(cost * 100, 6),
        cost_raw=None if cost is None else {"amount": cost, "unit": "usd"},
        metadata={} if metadata is None else dict(metadata),
        evaluation_results=evaluation,
        data_collection=_data_collection(analysis),
        turns=_turns(detail),
        has_audio=has_audio,
        has_user_audio=has_audio,
        has_response_audio=has_audio,
        source_updated_at=updated,
        transfer_to=_transfer_to(detail, ended_reason) if status in _FINISHED else None,
        raw=dict(detail),
    )


def _status(provider_status: str, ended_reason: str | None, started: datetime | None) -> Status:
    status = _STATUSES[provider_status]
    if provider_status != "ended":
        return status
    if started is None:
        return Status.failed  # ended without ever being answered
    if ended_reason is not None and (
        ended_reason in _NEVER_CONNECTED or any(marker in ended_reason for marker in _FAILURE_MARKERS)
    ):
        return Status.failed
    return status


def _channel(detail: Mapping[str, Any]) -> tuple[str, Direction | None]:
    call_type = opt_str(detail, "type", "type")
    if call_type is None:
        customer = opt_mapping(detail, "customer", "customer")
        has_number = customer is not None and opt_str(customer, "number", "customer.number") is not None
        return ("phone", None) if has_number else ("web", None)
    if call_type not in _CHANNELS:
        raise MappingError("type", f"unknown value {call_type!r}")
    return _CHANNELS[call_type]


def _user_id(
    customer: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None
) -> str | None:
    if customer is not None:
        external = opt_text(customer, "externalId", "customer.externalId")
        if external:
            return external
    variables = None if overrides is None else opt_mapping(
        overrides, "variableValues", "assistantOverrides.variableValues"
    )
    for source in (metadata, variables):
        if source is None:
            continue
        for key in _USER_ID_KEYS:
            value = source.get(key)
            # Free-form data: a number is an id too; anything else is not one.
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
    return None


def _success(analysis: Mapping[str, Any] | None) -> tuple[CallSuccessful, list[EvaluationResultIn]]:
    if analysis is None:
        return CallSuccessful.unknown, []
    value = analysis.get("successEvaluation")
    if value is None:
        return CallSuccessful.unknown, []
    if isinstance(value, bool):  # older assistants answered with a JSON boolean
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value.strip()
    elif isinstance(value, int | float):
        text = str(value)
    else:
        raise MappingError("analysis.successEvaluation", f"expected a string, got {kind(value)}")
    if not text:
        return CallSuccessful.unknown, []
    word = text.lower()
    outcome = (
        CallSuccessful.success
        if word in _SUCCESS_WORDS
        else CallSuccessful.failure
        if word in _FAILURE_WORDS
        else CallSuccessful.unknown
    )
    return outcome, [EvaluationResultIn(criteria_id="successEvaluation", result=outcome, rationale=text)]


def _data_collection(analysis: Mapping[str, Any] | None) -> list[DataCollectionIn]:
    structured = None if analysis is None else opt_mapping(analysis, "structuredData", "analysis.structuredData")
    if structured is None:
        return []
    return [DataCollectionIn(data_collection_id=str(key), value=value) for key, value in structured.items()]


def _transfer_to(detail: Mapping[str, Any], ended_reason: str | None) -> str | None:
    if ended_reason not in _TRANSFER_REASONS:
        return None
    destination = opt_mapping(detail, "destination", "destination")
    if destination is not None:
        number = opt_str(destination, "number", "destination.number")
        if number:
            return to_e164(number)
    forwarded = opt_str(detail, "forwardedPhoneNumber", "forwardedPhoneNumber")
    if forwarded:
        return to_e164(forwarded)
    artifact = opt_mapping(detail, "artifact", "artifact")
    transfers = [] if artifact is None else _list_of_objects(artifact, "transfers", "artifact.transfers")
    for i, transfer in reversed(list(enumerate(transfers))):
        target = opt_mapping(transfer, "destination", f"artifact.transfers[{i}].destination")
        number = None if target is None else opt_str(target, "number", f"artifact.transfers[{i}].destination.number")
        if number:
            return to_e164(number)
    return None


# ----------------------------------------------------------------------- turns


def _messages(detail: Mapping[str, Any]) -> tuple[list[Any], str]:
    artifact = opt_mapping(detail, "artifact", "artifact")
    if artifact is not None and artifact.get("messages") is not None:
        field = "artifact.messages"
        value = artifact["messages"]
    else:
        field = "messages"
        value = detail.get("messages")
        if value is None:
            return [], field
    if not isinstance(value, list):
        raise MappingError(field, f"expected a list, got {kind(value)}")
    return value, field


def _turns(detail: Mapping[str, Any]) -> list[TurnIn]:
    messages, field = _messages(detail)
    tool_names: dict[str, str] = {}  # tool call id → name, for results that do not repeat it
    turns = []
    for i, item in enumerate(messages):
        where = f"{field}[{i}]"
        turns.append(_turn(as_mapping(item, where), where, tool_names))
    return turns


def _turn(message: Mapping[str, Any], field: str, tool_names: dict[str, str]) -> TurnIn:
    role_name = req_str(message, "role", f"{field}.role")
    tool_calls: list[dict[str, Any]] = []
    tool_results: list[dict[str, Any]] = []
    if role_name == "user":
        role = Role.user
    elif role_name in ("bot", "assistant"):
        role = Role.agent
    elif role_name == "system":
        role = Role.system
    elif role_name == "tool_calls":
        role = Role.agent
    elif role_name in ("tool_call_result", "tool"):
        role = Role.tool
        tool_results = [_tool_result(message, field, tool_names)]
    else:
        raise MappingError(f"{field}.role", f"unknown value {role_name!r}")
    if "toolCalls" in message:  # tool_calls messages, and OpenAI-style assistant messages that call tools
        calls = _list_of_objects(message, "toolCalls", f"{field}.toolCalls")
        tool_calls = [_tool_call(call, f"{field}.toolCalls[{j}]", tool_names) for j, call in enumerate(calls)]
    text = opt_str(message, "message", f"{field}.message")
    return TurnIn(
        role=role,
        message=text if text and text.strip() else None,
        time_in_call_secs=opt_number(message, "secondsFromStart", f"{field}.secondsFromStart") or 0,
        tool_calls=tool_calls,
        tool_results=tool_results,
        extra={k: v for k, v in message.items() if k not in _MESSAGE_FIELDS and v is not None},
    )


def _tool_call(call: Mapping[str, Any], field: str, tool_names: dict[str, str]) -> dict[str, Any]:
    function = req_mapping(call, "function", f"{field}.function")
    name = req_str(function, "name", f"{field}.function.name")
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    call_id = opt_str(call, "id", f"{field}.id")
    if call_id:
        tool_names[call_id] = name
    return {
        "tool_name": name,
        "request_id": call_id,
        "params_as_json": arguments,
        "type": opt_str(call, "type", f"{field}.type") or "function",
    }


def _tool_result(message: Mapping[str, Any], field: str, tool_names: dict[str, str]) -> dict[str, Any]:
    call_id = opt_str(message, "toolCallId", f"{field}.toolCallId")
    name = opt_str(message, "name", f"{field}.name") or (tool_names.get(call_id) if call_id else None)
    if not name:
        raise MappingError(f"{field}.name", "missing (and no earlier tool call has this toolCallId)")
    result = message.get("result")
    if result is not None and not isinstance(result, str):
        result = json.dumps(result)
    return {"tool_name": name, "request_id": call_id, "result_value": result}


def _assistant_name_from_messages(detail: Mapping[str, Any], agent_id: str) -> str | None:
    """Bot messages name the assistant that spoke them; take the first one spoken by the call's agent."""
    try:
        messages, _ = _messages(detail)
    except MappingError:
        return None  # the turns mapping reports it with its field
    for item in messages:
        if isinstance(item, Mapping) and item.get("assistantId") == agent_id:
            name = item.get("assistantName")
            if isinstance(name, str) and name.strip():
                return name
    return None


# ------------------------------------------------------------ typed accessors


















def _opt_time(source: Mapping[str, Any], key: str) -> datetime | None:
    value = source.get(key)
    return None if value is None else parse_timestamp(value, key)


def _list_of_objects(source: Mapping[str, Any], key: str, field: str) -> list[dict[str, Any]]:
    value = source.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(field, f"expected a list, got {kind(value)}")
    return [dict(as_mapping(item, f"{field}[{i}]")) for i, item in enumerate(value)]
