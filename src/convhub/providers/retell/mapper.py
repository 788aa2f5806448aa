"""Retell call JSON → convhub's normalized ``ConversationIn``.

The sync engine hands this the body of ``GET /v2/get-call/{call_id}``; the
webhook processor hands it the ``call`` object of ``call_started`` /
``call_ended`` / ``call_analyzed`` events folded together (see ``webhooks.py``).
Both are the same call object (``PhoneCallResponse`` / ``WebCallResponse`` in
Retell's SDK), so one pure function maps them: no I/O, no clock, no database.

Identifiers and the fields convhub files somewhere are read strictly: a missing
id or a value of the wrong type raises :class:`MappingError` naming the field,
so a sync reports the bad call and carries on. Everything else Retell sends
(latency, token usage, node transitions, word timings…) survives in ``raw``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from convhub.conversations.schemas import (
    AgentRef,
    CallSuccessful,
    ConversationIn,
    DataCollectionIn,
    Direction,
    Role,
    Status,
    TurnIn,
)
from convhub.kit.phones import to_e164
from convhub.providers.base import MappingError
from convhub.providers.fields import as_mapping, kind, opt_mapping, opt_number, opt_str, opt_text, req_number, req_str

__all__ = ["MappingError", "conversation_from_retell", "is_final"]

PROVIDER = "retell"

# ``ended`` is split on whether the post-call analysis has arrived yet (see ``_status``).
_STATUSES = {
    "registered": Status.initiated,
    "ongoing": Status.in_progress,
    "error": Status.failed,
    "not_connected": Status.failed,
}
_KNOWN_STATUSES = frozenset({*_STATUSES, "ended"})
_OPEN_STATUSES = frozenset({Status.initiated, Status.in_progress})
_CHANNELS = {"phone_call": "phone", "web_call": "web"}
_DIRECTIONS = {direction.value: direction for direction in Direction}
_SPEAKERS = {"agent": Role.agent, "user": Role.user, "transfer_target": Role.human_operator}
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def is_final(call: Mapping[str, Any]) -> bool:
    """Whether Retell will not change the call any more: analysed, or it never connected / failed."""
    status = call.get("call_status")
    if status in ("error", "not_connected"):
        return True
    return status == "ended" and call.get("call_analysis") is not None


def conversation_from_retell(detail: Mapping[str, Any]) -> ConversationIn:
    """Map one Retell call object onto ``ConversationIn``.

    Required: ``call_id``, ``agent_id``, ``call_status`` and ``start_timestamp``
    (a call Retell has only registered, with no start yet, has nothing to file).

    Decisions worth knowing:

    * **status** — ``registered`` → initiated, ``ongoing`` → in-progress, ``ended``
      → done once ``call_analysis`` is present and processing until then,
      ``error`` and ``not_connected`` → failed; the original is kept in
      ``provider_status``. Any other value is a ``MappingError``.
    * **times** — Retell writes Unix *milliseconds*. ``duration_secs`` comes from
      ``duration_ms``, else ``end_timestamp - start_timestamp``; ``ended_at`` is
      ``end_timestamp`` (else start + duration) except while the call is open.
    * **numbers** — for an inbound call the customer is ``from_number`` and the
      agent ``to_number``; outbound the other way round. Web calls have neither.
    * **cost** — ``call_cost.combined_cost`` is already in USD cents: it is
      ``cost_cents`` as is, and ``cost_raw = {"amount": …, "unit": "usd_cents"}``.
    * **analysis** — ``call_successful`` (a boolean, or null when Retell could not
      tell) → success / failure / unknown; ``user_sentiment`` lower-cased, with
      ``Unknown`` as None; ``custom_analysis_data`` → ``data_collection``, one
      entry per key. Retell has no evaluation criteria.
    * **turns** — from ``transcript_with_tool_calls`` when present, else
      ``transcript_object``. A turn's time is its first word's start; tool
      invocations and results, which carry no time, take the time of the turn
      before. Invocations are agent turns with ``tool_calls``, results are
      ``tool`` turns with ``tool_results`` (named after their invocation); the
      transfer target's speech is ``human_operator``; DTMF and SMS are user turns,
      injected context a system turn. Node transitions are flow bookkeeping, not
      speech: they stay in ``raw`` only.
    * **metadata** — Retell's free-form ``metadata`` when it is an object.
      ``user_id`` is ``metadata.user_id``, else ``retell_llm_dynamic_variables.user_id``.
    * **transfer_to** — ``transfer_destination`` as E.164 (a SIP URI's user part
      when that is a number) when ``disconnection_reason`` is ``call_transfer``.
    """
    if not isinstance(detail, Mapping):
        raise MappingError("body", f"expected a JSON object, got {kind(detail)}")
    call_id = req_str(detail, "call_id", "call_id")
    try:
        return _map(detail, call_id)
    except MappingError as exc:
        raise MappingError(exc.field, exc.problem, conversation_id=call_id) from None


def _map(detail: Mapping[str, Any], call_id: str) -> ConversationIn:
    agent = AgentRef(
        provider_agent_id=req_str(detail, "agent_id", "agent_id"),
        name=opt_text(detail, "agent_name", "agent_name"),
    )
    provider_status = req_str(detail, "call_status", "call_status")
    if provider_status not in _KNOWN_STATUSES:
        raise MappingError("call_status", f"unknown value {provider_status!r}")
    analysis = opt_mapping(detail, "call_analysis", "call_analysis")
    status = _STATUSES.get(provider_status) or (Status.done if analysis is not None else Status.processing)

    start_ms = req_number(detail, "start_timestamp", "start_timestamp")
    started_at = _ms_to_datetime(start_ms, "start_timestamp")
    end_ms = opt_number(detail, "end_timestamp", "end_timestamp")
    duration_ms = opt_number(detail, "duration_ms", "duration_ms")
    if duration_ms is None and end_ms is not None:
        duration_ms = end_ms - start_ms
        if duration_ms < 0:
            raise MappingError("end_timestamp", "is before start_timestamp")
    if duration_ms is not None and duration_ms < 0:
        raise MappingError("duration_ms", f"must not be negative, got {duration_ms}")
    duration = round((duration_ms or 0) / 1000)
    ended_at: datetime | None = None
    if status not in _OPEN_STATUSES:
        ended_at = (
            _ms_to_datetime(end_ms, "end_timestamp") if end_ms is not None
            else started_at + timedelta(seconds=duration)
        )

    channel, direction, customer_number, agent_number = _line(detail)
    metadata = detail.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    termination_reason = opt_text(detail, "disconnection_reason", "disconnection_reason")
    has_audio = opt_text(detail, "recording_url", "recording_url") is not None
    cost_cents = _cost_cents(detail)

    return ConversationIn(
        provider=PROVIDER,
        provider_conversation_id=call_id,
        agent=agent,
        channel=channel,
        direction=direction,
        status=status,
        provider_status=provider_status,
        user_id=_user_id(detail, metadata),
        customer_number=customer_number,
        agent_number=agent_number,
        started_at=started_at,
        ended_at=ended_at,
        duration_secs=duration,
        call_successful=_outcome(analysis),
        summary=opt_text(analysis, "call_summary", "call_analysis.call_summary"),
        sentiment=_sentiment(analysis),
        termination_reason=termination_reason,
        cost_cents=cost_cents,
        cost_raw=None if cost_cents is None else {"amount": cost_cents, "unit": "usd_cents"},
        metadata=metadata,
        data_collection=_data_collection(analysis),
        turns=_turns(detail),
        has_audio=has_audio,
        has_user_audio=has_audio,  # one mixed recording: both parties are in it
        has_response_audio=has_audio,
        transfer_to=_transfer_to(detail) if termination_reason == "call_transfer" else None,
        raw=dict(detail),
    )


# ----------------------------------------------------------------------- parts


def _line(detail: Mapping[str, Any]) -> tuple[str, Direction | None, str | None, str | None]:
    """(channel, direction, customer number, agent number)."""
    call_type = opt_str(detail, "call_type", "call_type")
    if call_type is None:  # partial webhook objects: a phone call is the one with numbers
        call_type = "phone_call" if "from_number" in detail or "to_number" in detail else "web_call"
    channel = _CHANNELS.get(call_type)
    if channel is None:
        raise MappingError("call_type", f"unknown value {call_type!r}")
    if channel == "web":
        return channel, None, None, None
    value = opt_str(detail, "direction", "direction")
    direction = None if value is None else _DIRECTIONS.get(value)
    if value is not None and direction is None:
        raise MappingError("direction", f"unknown value {value!r}")
    caller = to_e164(opt_str(detail, "from_number", "from_number"))
    callee = to_e164(opt_str(detail, "to_number", "to_number"))
    if direction is Direction.inbound:
        return channel, direction, caller, callee
    if direction is Direction.outbound:
        return channel, direction, callee, caller
    return channel, None, None, None  # without a direction, which side is the customer is unknown


def _user_id(detail: Mapping[str, Any], metadata: Mapping[str, Any]) -> str | None:
    value = metadata.get("user_id")
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    variables = opt_mapping(detail, "retell_llm_dynamic_variables", "retell_llm_dynamic_variables")
    if variables is None:
        return None
    return opt_text(variables, "user_id", "retell_llm_dynamic_variables.user_id")


def _outcome(analysis: Mapping[str, Any] | None) -> CallSuccessful:
    value = None if analysis is None else analysis.get("call_successful")
    if value is None:
        return CallSuccessful.unknown
    if not isinstance(value, bool):
        raise MappingError("call_analysis.call_successful", f"expected a boolean, got {kind(value)}")
    return CallSuccessful.success if value else CallSuccessful.failure


def _sentiment(analysis: Mapping[str, Any] | None) -> str | None:
    value = opt_text(analysis, "user_sentiment", "call_analysis.user_sentiment")
    if value is None or value.lower() == "unknown":
        return None
    return value.lower()


def _data_collection(analysis: Mapping[str, Any] | None) -> list[DataCollectionIn]:
    if analysis is None:
        return []
    data = opt_mapping(analysis, "custom_analysis_data", "call_analysis.custom_analysis_data")
    if data is None:
        return []
    return [DataCollectionIn(data_collection_id=str(key), value=value) for key, value in data.items()]


def _cost_cents(detail: Mapping[str, Any]) -> float | None:
    cost = opt_mapping(detail, "call_cost", "call_cost")
    return None if cost is None else opt_number(cost, "combined_cost", "call_cost.combined_cost")


def _transfer_to(detail: Mapping[str, Any]) -> str | None:
    destination = opt_text(detail, "transfer_destination", "transfer_destination")
    if destination is None:
        return None
    target = destination.strip()
    if target.lower().startswith(("sip:", "sips:")):
        # sip:+14155550123@trunk.example;transport=tls → the user part, when it is a number
        target = target.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    number = to_e164(target)
    return number if number is not None and _E164.fullmatch(number) else None


def _turns(detail: Mapping[str, Any]) -> list[TurnIn]:
    key = "transcript_with_tool_calls" if detail.get("transcript_with_tool_calls") is not None else "transcript_object"
    items = detail.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise MappingError(key, f"expected a list, got {kind(items)}")
    turns: list[TurnIn] = []
    tool_names: dict[str, str] = {}
    at = 0.0
    for i, raw_item in enumerate(items):
        field = f"{key}[{i}]"
        item = as_mapping(raw_item, field)
        turn = _turn(item, field, at, tool_names)
        if turn is not None:
            at = turn.time_in_call_secs
            turns.append(turn)
    return turns


def _turn(item: Mapping[str, Any], field: str, at: float, tool_names: dict[str, str]) -> TurnIn | None:
    """One transcript entry as a turn (None for entries that are not part of the conversation)."""
    role = req_str(item, "role", f"{field}.role")
    speaker = _SPEAKERS.get(role)
    if speaker is not None:
        extra: dict[str, Any] = {}
        if role == "transfer_target":
            extra["retell_role"] = role
        metadata = opt_mapping(item, "metadata", f"{field}.metadata")
        if metadata:
            extra["metadata"] = dict(metadata)
        return TurnIn(
            role=speaker,
            message=opt_text(item, "content", f"{field}.content"),
            time_in_call_secs=_first_word_start(item, field, at),
            source_medium="audio" if speaker is Role.user else None,
            extra=extra,
        )
    if role == "tool_call_invocation":
        tool_call_id = req_str(item, "tool_call_id", f"{field}.tool_call_id")
        name = req_str(item, "name", f"{field}.name")
        tool_names[tool_call_id] = name
        call: dict[str, Any] = {
            "request_id": tool_call_id,
            "tool_name": name,
            "params_as_json": opt_str(item, "arguments", f"{field}.arguments") or "{}",
            "tool_has_been_called": True,
        }
        call_type = opt_str(item, "type", f"{field}.type")
        if call_type is not None:
            call["type"] = call_type
        return TurnIn(role=Role.agent, time_in_call_secs=at, tool_calls=[call])
    if role == "tool_call_result":
        tool_call_id = req_str(item, "tool_call_id", f"{field}.tool_call_id")
        successful = item.get("successful")
        if successful is not None and not isinstance(successful, bool):
            raise MappingError(f"{field}.successful", f"expected a boolean, got {kind(successful)}")
        result = {
            "request_id": tool_call_id,
            "tool_name": tool_names.get(tool_call_id, "unknown"),
            "result_value": opt_str(item, "content", f"{field}.content") or "",
            "is_error": successful is False,
            "tool_has_been_called": True,
        }
        return TurnIn(role=Role.tool, time_in_call_secs=at, tool_results=[result])
    if role == "dtmf":
        digit = req_str(item, "digit", f"{field}.digit")
        return TurnIn(role=Role.user, message=digit, time_in_call_secs=at, extra={"retell_role": role})
    if role in ("sms", "injected"):
        time_sec = opt_number(item, "time_sec", f"{field}.time_sec")
        extra = {"retell_role": role}
        multimedia = item.get("multimedia")
        if multimedia:
            extra["multimedia"] = multimedia
        return TurnIn(
            role=Role.user if role == "sms" else Role.system,
            message=opt_text(item, "content", f"{field}.content"),
            time_in_call_secs=at if time_sec is None else time_sec,
            source_medium="text" if role == "sms" else None,
            extra=extra,
        )
    if role == "node_transition":
        return None
    raise MappingError(f"{field}.role", f"unknown value {role!r}")


def _first_word_start(item: Mapping[str, Any], field: str, fallback: float) -> float:
    words = item.get("words")
    if words is None:
        return fallback
    if not isinstance(words, list):
        raise MappingError(f"{field}.words", f"expected a list, got {kind(words)}")
    for i, word in enumerate(words):
        start = opt_number(as_mapping(word, f"{field}.words[{i}]"), "start", f"{field}.words[{i}].start")
        if start is not None:
            return start
    return fallback


# ------------------------------------------------------------ typed accessors


















def _ms_to_datetime(value: float, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise MappingError(field, f"not a usable Unix time in milliseconds: {value}") from None
