"""ElevenLabs conversation JSON → convhub's normalized ``ConversationIn``.

The import command, the sync engine and the webhook processor all receive the
body of ``GET /v1/convai/conversations/{id}`` (or something shaped like it) and
hand it here. The mapping is pure: no I/O, no clock, no database, so it is
tested on recorded payloads alone.

Fields convhub files somewhere are read strictly: a missing identifier or a
value of the wrong type raises :class:`MappingError` naming the field, so an
import can report the bad line and carry on. Everything else the vendor sends
is left alone and survives in ``raw``.
"""

from __future__ import annotations

import json
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
    EvaluationResultIn,
    Feedback,
    Role,
    Status,
    TurnIn,
)
from convhub.kit.phones import to_e164
from convhub.providers.base import MappingError
from convhub.providers.fields import (
    as_mapping,
    kind,
    opt_bool,
    opt_mapping,
    opt_number,
    opt_str,
    opt_text,
    req_mapping,
    req_number,
    req_str,
)

__all__ = ["MappingError", "conversation_from_elevenlabs"]

PROVIDER = "elevenlabs"

# Turn keys with a column of their own; every other non-null key goes to ``TurnIn.extra``.
_TURN_FIELDS = frozenset(
    {
        "role",
        "message",
        "time_in_call_secs",
        "tool_calls",
        "tool_results",
        "feedback",
        "interrupted",
        "source_medium",
        "llm_usage",
    }
)
_STATUSES = {status.value: status for status in Status}
_OUTCOMES = {outcome.value: outcome for outcome in CallSuccessful}
_ROLES = {role.value: role for role in Role}
_DIRECTIONS = {direction.value: direction for direction in Direction}
_TRANSFER_TOOL = "transfer_to_number"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A conversation in these states has not ended yet, so it has no end time.
_OPEN_STATUSES = frozenset({Status.initiated, Status.in_progress})


def conversation_from_elevenlabs(detail: Mapping[str, Any]) -> ConversationIn:
    """Map one ElevenLabs conversation-detail body onto ``ConversationIn``.

    Required: ``conversation_id``, ``agent_id`` and ``metadata.start_time_unix_secs``;
    everything else has a neutral default when absent or null.

    Decisions worth knowing:

    * **channel** — ``phone`` when ``metadata.phone_call`` is set, ``whatsapp`` when
      ``metadata.whatsapp`` is, ``sms`` when ``metadata.sms`` is, ``chat`` for a
      ``text_only`` conversation, ``web`` otherwise (widget and SDK voice sessions).
    * **status** — ElevenLabs uses convhub's own lifecycle names; the original string is
      kept in ``provider_status``. A status outside that set is a ``MappingError``.
      ``ended_at`` is ``started_at + call_duration_secs`` except while the conversation is
      still ``initiated`` or ``in-progress``.
    * **cost** — ``metadata.cost`` is in ElevenLabs *credits*, which have no fixed price,
      so it is kept as ``cost_raw = {"amount": cost, "unit": "credits"}`` and never
      converted. ``cost_cents`` is filled only from a USD figure the body carries:
      ``metadata.cost_fiat`` (total USD) when present, else ``metadata.charging.llm_price
      + metadata.charging.platform_price`` when both are present (their sum is the fiat
      total). ``llm_price`` alone covers only the LLM share and would understate the cost,
      so without both the result is ``None``.
    * **metadata** — left empty: ElevenLabs has no free-form conversation metadata;
      dynamic variables and everything else stay in ``raw``.
    * **user_id** — the top-level ``user_id``, falling back to
      ``conversation_initiation_client_data.user_id``.
    * **numbers** — ``metadata.phone_call.external_number`` (the customer) and
      ``agent_number`` in E.164 when they parse as phone numbers (SIP URIs stay as given).
    * **transfer_to** — the destination of the last *successful* ``transfer_to_number``
      system tool result in the transcript (E.164): the result's ``transfer_number``,
      else the one the matching tool call asked for; a SIP URI destination whose user
      part is a phone number counts as that number. A result marked ``is_error`` or
      with ``status: "error"`` is not a transfer.
    * Empty strings for summary, title, termination reason and comment become ``None``.
    """
    if not isinstance(detail, Mapping):
        raise MappingError("body", f"expected a JSON object, got {kind(detail)}")
    conversation_id = req_str(detail, "conversation_id", "conversation_id")
    try:
        return _map(detail, conversation_id)
    except MappingError as exc:
        raise MappingError(exc.field, exc.problem, conversation_id=conversation_id) from None


def _map(detail: Mapping[str, Any], conversation_id: str) -> ConversationIn:
    agent = AgentRef(
        provider_agent_id=req_str(detail, "agent_id", "agent_id"),
        name=opt_str(detail, "agent_name", "agent_name"),
    )
    metadata = req_mapping(detail, "metadata", "metadata")
    started_at = _unix_to_datetime(
        req_number(metadata, "start_time_unix_secs", "metadata.start_time_unix_secs"),
        "metadata.start_time_unix_secs",
    )
    duration = int(opt_number(metadata, "call_duration_secs", "metadata.call_duration_secs") or 0)
    if duration < 0:
        raise MappingError("metadata.call_duration_secs", f"must not be negative, got {duration}")

    provider_status = opt_str(detail, "status", "status")
    status = Status.done
    if provider_status is not None:
        if provider_status not in _STATUSES:
            raise MappingError("status", f"unknown value {provider_status!r}")
        status = _STATUSES[provider_status]

    phone_call = opt_mapping(metadata, "phone_call", "metadata.phone_call")
    whatsapp = opt_mapping(metadata, "whatsapp", "metadata.whatsapp")
    direction: Direction | None = None
    customer_number: str | None = None
    agent_number: str | None = None
    if phone_call is not None:
        channel = "phone"
        direction = _direction(phone_call, "metadata.phone_call.direction")
        customer_number = to_e164(opt_str(phone_call, "external_number", "metadata.phone_call.external_number"))
        agent_number = to_e164(opt_str(phone_call, "agent_number", "metadata.phone_call.agent_number"))
    elif whatsapp is not None:
        channel = "whatsapp"
        direction = _direction(whatsapp, "metadata.whatsapp.direction")
    elif opt_mapping(metadata, "sms", "metadata.sms") is not None:
        channel = "sms"
    elif opt_bool(metadata, "text_only", "metadata.text_only"):
        channel = "chat"
    else:
        channel = "web"

    client_data = opt_mapping(detail, "conversation_initiation_client_data", "conversation_initiation_client_data")
    user_id = opt_str(detail, "user_id", "user_id")
    if user_id is None and client_data is not None:
        user_id = opt_str(client_data, "user_id", "conversation_initiation_client_data.user_id")

    rating, feedback = _feedback(opt_mapping(metadata, "feedback", "metadata.feedback"))

    cost = opt_number(metadata, "cost", "metadata.cost")
    analysis = opt_mapping(detail, "analysis", "analysis")
    turns = _turns(detail.get("transcript"))

    return ConversationIn(
        provider=PROVIDER,
        provider_conversation_id=conversation_id,
        agent=agent,
        channel=channel,
        direction=direction,
        status=status,
        provider_status=provider_status,
        user_id=user_id,
        customer_number=customer_number,
        agent_number=agent_number,
        started_at=started_at,
        ended_at=None if status in _OPEN_STATUSES else started_at + timedelta(seconds=duration),
        duration_secs=duration,
        call_successful=_outcome(analysis, "call_successful", "analysis.call_successful"),
        rating=rating,
        feedback=feedback,
        summary=opt_text(analysis, "transcript_summary", "analysis.transcript_summary"),
        title=opt_text(analysis, "call_summary_title", "analysis.call_summary_title"),
        termination_reason=opt_text(metadata, "termination_reason", "metadata.termination_reason"),
        cost_cents=_usd_cents(metadata),
        cost_raw=None if cost is None else {"amount": cost, "unit": "credits"},
        metadata={},
        evaluation_results=_evaluation_results(analysis),
        data_collection=_data_collection(analysis),
        turns=turns,
        has_audio=opt_bool(detail, "has_audio", "has_audio"),
        has_user_audio=opt_bool(detail, "has_user_audio", "has_user_audio"),
        has_response_audio=opt_bool(detail, "has_response_audio", "has_response_audio"),
        transfer_to=_transfer_to(turns),
        raw=dict(detail),
    )


# ----------------------------------------------------------------------- parts


def _direction(source: Mapping[str, Any], field: str) -> Direction | None:
    value = opt_str(source, "direction", field)
    if value is None or value == "unknown":  # WhatsApp reports "unknown" when it cannot tell
        return None
    if value not in _DIRECTIONS:
        raise MappingError(field, f"unknown value {value!r}")
    return _DIRECTIONS[value]


def _feedback(source: Mapping[str, Any] | None) -> tuple[int | None, Feedback]:
    if source is None:
        return None, Feedback()
    rating = opt_number(source, "rating", "metadata.feedback.rating")
    if rating is not None and (rating != int(rating) or not 1 <= rating <= 5):
        raise MappingError("metadata.feedback.rating", f"must be a whole number from 1 to 5, got {rating}")
    likes = opt_number(source, "likes", "metadata.feedback.likes") or 0
    dislikes = opt_number(source, "dislikes", "metadata.feedback.dislikes") or 0
    feedback = Feedback(
        likes=int(likes),
        dislikes=int(dislikes),
        comment=opt_text(source, "comment", "metadata.feedback.comment"),
    )
    return (None if rating is None else int(rating)), feedback


def _usd_cents(metadata: Mapping[str, Any]) -> float | None:
    total = opt_number(metadata, "cost_fiat", "metadata.cost_fiat")
    if total is None:
        charging = opt_mapping(metadata, "charging", "metadata.charging")
        if charging is None:
            return None
        llm = opt_number(charging, "llm_price", "metadata.charging.llm_price")
        platform = opt_number(charging, "platform_price", "metadata.charging.platform_price")
        if llm is None or platform is None:
            return None
        total = llm + platform
    return round(total * 100, 6)


def _outcome(source: Mapping[str, Any] | None, key: str, field: str) -> CallSuccessful:
    value = None if source is None else opt_str(source, key, field)
    if value is None:
        return CallSuccessful.unknown
    if value not in _OUTCOMES:
        raise MappingError(field, f"unknown value {value!r}")
    return _OUTCOMES[value]


def _analysis_items(analysis: Mapping[str, Any] | None, key: str) -> list[tuple[str, str, Mapping[str, Any]]]:
    """``analysis.<key>`` entries as (fallback id, field path, entry).

    ElevenLabs sends a mapping keyed by id; newer bodies may carry only the
    ``<key>_list`` form, which is read when the mapping is absent.
    """
    if analysis is None:
        return []
    field = f"analysis.{key}"
    by_id = opt_mapping(analysis, key, field)
    if by_id is not None:
        return [(str(k), f"{field}.{k}", as_mapping(v, f"{field}.{k}")) for k, v in by_id.items()]
    listed = analysis.get(f"{key}_list")
    if listed is None:
        return []
    field = f"{field}_list"
    if not isinstance(listed, list):
        raise MappingError(field, f"expected a list, got {kind(listed)}")
    return [("", f"{field}[{i}]", as_mapping(v, f"{field}[{i}]")) for i, v in enumerate(listed)]


def _evaluation_results(analysis: Mapping[str, Any] | None) -> list[EvaluationResultIn]:
    results = []
    for fallback_id, field, item in _analysis_items(analysis, "evaluation_criteria_results"):
        criteria_id = opt_str(item, "criteria_id", f"{field}.criteria_id") or fallback_id
        if not criteria_id:
            raise MappingError(f"{field}.criteria_id", "missing")
        results.append(
            EvaluationResultIn(
                criteria_id=criteria_id,
                result=_outcome(item, "result", f"{field}.result"),
                rationale=opt_str(item, "rationale", f"{field}.rationale") or "",
            )
        )
    return results


def _data_collection(analysis: Mapping[str, Any] | None) -> list[DataCollectionIn]:
    results = []
    for fallback_id, field, item in _analysis_items(analysis, "data_collection_results"):
        collection_id = opt_str(item, "data_collection_id", f"{field}.data_collection_id") or fallback_id
        if not collection_id:
            raise MappingError(f"{field}.data_collection_id", "missing")
        results.append(
            DataCollectionIn(
                data_collection_id=collection_id,
                value=item.get("value"),
                rationale=opt_str(item, "rationale", f"{field}.rationale") or "",
            )
        )
    return results


def _turns(transcript: Any) -> list[TurnIn]:
    if transcript is None:
        return []
    if not isinstance(transcript, list):
        raise MappingError("transcript", f"expected a list, got {kind(transcript)}")
    return [_turn(as_mapping(item, f"transcript[{i}]"), f"transcript[{i}]") for i, item in enumerate(transcript)]


def _turn(turn: Mapping[str, Any], field: str) -> TurnIn:
    role_name = req_str(turn, "role", f"{field}.role")
    role = _ROLES.get(role_name)
    if role is None:
        raise MappingError(f"{field}.role", f"unknown value {role_name!r}")

    message = opt_str(turn, "message", f"{field}.message")
    if message is None:
        message = _multivoice_text(turn, field)

    feedback = opt_mapping(turn, "feedback", f"{field}.feedback")
    score = None if feedback is None else opt_str(feedback, "score", f"{field}.feedback.score")
    llm_usage = opt_mapping(turn, "llm_usage", f"{field}.llm_usage")

    return TurnIn(
        role=role,
        message=message,
        time_in_call_secs=opt_number(turn, "time_in_call_secs", f"{field}.time_in_call_secs") or 0,
        tool_calls=_list_of_objects(turn, "tool_calls", f"{field}.tool_calls"),
        tool_results=_list_of_objects(turn, "tool_results", f"{field}.tool_results"),
        feedback=score,
        interrupted=opt_bool(turn, "interrupted", f"{field}.interrupted"),
        source_medium=opt_str(turn, "source_medium", f"{field}.source_medium"),
        llm_usage=None if llm_usage is None else dict(llm_usage),
        extra={k: v for k, v in turn.items() if k not in _TURN_FIELDS and v is not None},
    )


def _transfer_to(turns: list[TurnIn]) -> str | None:
    """Where the call was handed over: the last successful ``transfer_to_number`` result's number."""
    requested: dict[str, Any] = {}  # request_id -> the call's params_as_json
    destination: str | None = None
    for i, turn in enumerate(turns):
        for call in turn.tool_calls:
            if call.get("tool_name") == _TRANSFER_TOOL and isinstance(call.get("request_id"), str):
                requested[call["request_id"]] = call.get("params_as_json")
        for j, result in enumerate(turn.tool_results):
            if result.get("tool_name") != _TRANSFER_TOOL or result.get("is_error") is True:
                continue
            field = f"transcript[{i}].tool_results[{j}]"
            outcome = opt_mapping(result, "result", f"{field}.result")
            if outcome is None:  # older bodies carry the outcome only as JSON text
                outcome = _json_object(result.get("result_value"))
                field = f"{field}.result_value"
            else:
                field = f"{field}.result"
            if outcome is None or not _transfer_succeeded(outcome, field):
                continue
            number = opt_str(outcome, "transfer_number", f"{field}.transfer_number")
            if number is None:  # e.g. Amazon Connect hand-backs name no number: use what was asked for
                request_id = result.get("request_id")
                params = _json_object(requested.get(request_id) if isinstance(request_id, str) else None)
                asked = None if params is None else params.get("transfer_number")
                number = asked if isinstance(asked, str) else None
            destination = _destination(number) or destination
    return destination


def _destination(raw: str | None) -> str | None:
    """A transfer target as E.164; a SIP URI whose user part is a phone number counts as that number."""
    if raw is None:
        return None
    scheme, sep, rest = raw.strip().partition(":")
    if sep and scheme.lower() in ("sip", "sips"):
        number = to_e164(rest.split("@", 1)[0].split(";", 1)[0])
        if number is not None and _E164.fullmatch(number):
            return number
    return to_e164(raw)


def _transfer_succeeded(outcome: Mapping[str, Any], field: str) -> bool:
    status = opt_str(outcome, "status", f"{field}.status")
    if status is not None:
        return status == "success"
    result_type = opt_str(outcome, "result_type", f"{field}.result_type")
    return result_type is not None and result_type.endswith("_success")


def _json_object(text: Any) -> Mapping[str, Any] | None:
    """``text`` parsed as a JSON object, or None when it is not one (free-form tool output)."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


def _multivoice_text(turn: Mapping[str, Any], field: str) -> str | None:
    """The text of a multi-voice agent turn, whose ``message`` is null."""
    multivoice = opt_mapping(turn, "multivoice_message", f"{field}.multivoice_message")
    if multivoice is None:
        return None
    parts = _list_of_objects(multivoice, "parts", f"{field}.multivoice_message.parts")
    texts = [p["text"] for p in parts if isinstance(p.get("text"), str) and p["text"]]
    return " ".join(texts) or None


# ------------------------------------------------------------ typed accessors






















def _list_of_objects(source: Mapping[str, Any], key: str, field: str) -> list[dict[str, Any]]:
    value = source.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(field, f"expected a list, got {kind(value)}")
    return [dict(as_mapping(item, f"{field}[{i}]")) for i, item in enumerate(value)]


def _unix_to_datetime(value: float, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise MappingError(field, f"not a usable Unix time: {value}") from None
