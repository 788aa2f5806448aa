"""convhub's stored conversations → the ElevenLabs response models.

Pure functions, no I/O. Decisions worth knowing:

* **ids** — the ids the caller knows. A conversation that came from ElevenLabs
  (sync, webhook or import) carries ElevenLabs' own ``conversation_id`` and
  ``agent_id``, exactly as ElevenLabs returned them, so code that stored them
  finds them again; any other conversation carries convhub's ids. The endpoints
  accept both forms.
* **roles** — ElevenLabs knows ``user`` and ``agent`` only. A human operator who
  took over speaks for the agent side, so ``human_operator`` → ``agent``. A
  ``tool`` turn becomes an ``agent`` turn without a message that carries its tool
  calls and results (as ElevenLabs itself files them), and is left out when it
  has neither. ``system`` turns (prompts, notes, events) were never said by
  either party and are left out.
* **tool calls and results** — the fields the reference requires are always
  present, derived from common spellings (``id``, ``arguments``, ``output``…)
  when the provider used others; an ElevenLabs conversation's remaining keys
  pass through as they came.
* **audio** — ``has_audio`` is true only when convhub holds the recording (so
  ``…/audio`` will answer); the user/response flags are the provider's, and
  false without a recording.
* **cost** — ``metadata.cost`` is ElevenLabs credits and is set only when the
  provider reported credits; a known US-dollar figure goes to ``cost_fiat``.
* **phone_call** — present for phone conversations of known direction. An
  ElevenLabs call keeps its own type and ids; any other is described as a SIP
  trunk call whose ``call_sid`` is the provider's conversation id.
* ElevenLabs extras convhub does not file (main language, time zone, dynamic
  variables…) are read back from the stored raw payload of ElevenLabs conversations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from convhub.conversations.schemas import CallSuccessful, Direction, Status
from convhub.elevenlabs_api.schemas import (
    ConversationAnalysis,
    ConversationDetail,
    ConversationFeedback,
    ConversationInitiationClientData,
    ConversationMetadata,
    ConversationSummary,
    DataCollectionResult,
    EvaluationCriteriaResult,
    PhoneCall,
    SipTrunkingPhoneCall,
    ToolCall,
    ToolResult,
    TranscriptTurn,
    TurnFeedback,
    TwilioPhoneCall,
)
from convhub.kit.time import to_unix
from convhub.models import Agent, Conversation, Turn

ELEVENLABS = "elevenlabs"
_TOOL_RESULT_TYPES = frozenset({"client", "webhook", "mcp", "system", "api_integration_webhook", "workflow"})
_SCORES = ("like", "dislike")
_MEDIA = ("audio", "text")


def conversation_id(conv: Conversation) -> str:
    """The id this dialect shows for ``conv``: ElevenLabs' own for an ElevenLabs conversation, else convhub's."""
    if conv.provider == ELEVENLABS and conv.provider_conversation_id:
        return conv.provider_conversation_id
    return conv.id


def agent_id(conv: Conversation, agent: Agent | None) -> str:
    """The agent id this dialect shows for ``conv``: the ElevenLabs agent id of an ElevenLabs conversation
    (its mirrored agent's, else the one in ElevenLabs' stored body), else convhub's."""
    if conv.provider != ELEVENLABS:
        return conv.agent_id
    if agent is not None and agent.provider == ELEVENLABS and agent.provider_agent_id:
        return agent.provider_agent_id
    stored = _raw(conv).get("agent_id")
    return stored if isinstance(stored, str) and stored else conv.agent_id


def summary(conv: Conversation, agent: Agent | None, *, include_summary: bool) -> ConversationSummary:
    return ConversationSummary(
        agent_id=agent_id(conv, agent),
        agent_name=None if agent is None else agent.name,
        conversation_id=conversation_id(conv),
        start_time_unix_secs=to_unix(conv.started_at),
        call_duration_secs=conv.duration_secs,
        message_count=conv.message_count,
        status=Status(conv.status),
        call_successful=_outcome(conv.call_successful),
        transcript_summary=conv.summary if include_summary else None,
        call_summary_title=conv.title,
        direction=_direction(conv.direction),
        rating=None if conv.rating is None else float(conv.rating),
    )


def detail(conv: Conversation, turns: Iterable[Turn], agent: Agent | None) -> ConversationDetail:
    raw = _raw(conv)
    raw_metadata = _mapping(raw.get("metadata"))
    client_data = _mapping(raw.get("conversation_initiation_client_data"))
    has_audio = bool(conv.audio_key)
    keep_extra = conv.provider == ELEVENLABS
    return ConversationDetail(
        agent_id=agent_id(conv, agent),
        agent_name=None if agent is None else agent.name,
        conversation_id=conversation_id(conv),
        status=Status(conv.status),
        user_id=conv.user_id,
        transcript=[t for t in (_turn(turn, keep_extra=keep_extra) for turn in turns) if t is not None],
        metadata=_metadata(conv, raw_metadata),
        analysis=_analysis(conv),
        conversation_initiation_client_data=ConversationInitiationClientData(
            user_id=conv.user_id, dynamic_variables=_mapping(client_data.get("dynamic_variables"))
        ),
        has_audio=has_audio,
        has_user_audio=has_audio and conv.has_user_audio,
        has_response_audio=has_audio and conv.has_response_audio,
    )


# ------------------------------------------------------------------ transcript


def _turn(turn: Turn, *, keep_extra: bool) -> TranscriptTurn | None:
    if turn.role == "system":
        return None
    tool_calls = [_tool_call(c, keep_extra) for c in turn.tool_calls or [] if isinstance(c, Mapping)]
    tool_results = [_tool_result(r, keep_extra) for r in turn.tool_results or [] if isinstance(r, Mapping)]
    message = turn.message
    if turn.role == "tool":
        if not tool_calls and not tool_results:
            return None
        message = None
    time_in_call = _int(turn.time_in_call_secs)
    return TranscriptTurn(
        role="user" if turn.role == "user" else "agent",
        message=message,
        tool_calls=tool_calls,
        tool_results=tool_results,
        feedback=TurnFeedback(score=turn.feedback, time_in_call_secs=time_in_call)
        if turn.feedback in _SCORES
        else None,
        time_in_call_secs=time_in_call,
        llm_usage=turn.llm_usage if isinstance(turn.llm_usage, dict) else None,
        interrupted=bool(turn.interrupted),
        source_medium=turn.source_medium if turn.source_medium in _MEDIA else None,
    )


def _tool_call(call: Mapping[str, Any], keep_extra: bool) -> ToolCall:
    params = call.get("params_as_json")
    if not isinstance(params, str):
        params = _as_text(_first(call, "params", "arguments", "parameters", "args"), empty="{}")
    required = {
        "request_id": _as_text(_first(call, "request_id", "id", "tool_call_id", "call_id")),
        "tool_name": _as_text(_first(call, "tool_name", "name")),
        "params_as_json": params,
        "tool_has_been_called": _as_bool(call.get("tool_has_been_called"), default=True),
    }
    return ToolCall.model_validate({**(dict(call) if keep_extra else {}), **required})


def _tool_result(result: Mapping[str, Any], keep_extra: bool) -> ToolResult:
    kind = result.get("type")
    required = {
        "request_id": _as_text(_first(result, "request_id", "id", "tool_call_id", "call_id")),
        "tool_name": _as_text(_first(result, "tool_name", "name")),
        "result_value": _as_text(_first(result, "result_value", "result", "output", "content")),
        "is_error": _as_bool(result.get("is_error"), default=False),
        "tool_has_been_called": _as_bool(result.get("tool_has_been_called"), default=True),
        "type": kind if kind in _TOOL_RESULT_TYPES else "webhook",
    }
    return ToolResult.model_validate({**(dict(result) if keep_extra else {}), **required})


# -------------------------------------------------------------------- metadata


def _metadata(conv: Conversation, raw_metadata: Mapping[str, Any]) -> ConversationMetadata:
    cost_raw = conv.cost_raw or {}
    credits = cost_raw.get("amount") if cost_raw.get("unit") == "credits" else None
    text_only = raw_metadata.get("text_only")
    return ConversationMetadata(
        start_time_unix_secs=to_unix(conv.started_at),
        accepted_time_unix_secs=_opt_int(raw_metadata.get("accepted_time_unix_secs")),
        call_duration_secs=conv.duration_secs,
        cost=_opt_int(credits),
        cost_fiat=None if _opt_float(conv.cost_cents) is None else round(float(conv.cost_cents or 0) / 100, 6),
        feedback=_feedback(conv),
        phone_call=_phone_call(conv, _mapping(raw_metadata.get("phone_call"))),
        termination_reason=conv.termination_reason or "",
        main_language=_opt_str(raw_metadata.get("main_language")),
        text_only=text_only if isinstance(text_only, bool) else conv.channel in ("chat", "sms"),
        timezone=_opt_str(raw_metadata.get("timezone")),
    )


def _feedback(conv: Conversation) -> ConversationFeedback:
    score = conv.feedback_score if conv.feedback_score in _SCORES else None
    kind = None
    if conv.rating is not None:
        kind = "rating"
    elif score or conv.feedback_likes or conv.feedback_dislikes:
        kind = "thumbs"
    return ConversationFeedback(
        type=kind,
        overall_score=score,
        likes=conv.feedback_likes,
        dislikes=conv.feedback_dislikes,
        rating=conv.rating,
        comment=conv.feedback_comment,
    )


def _phone_call(conv: Conversation, el_call: Mapping[str, Any]) -> PhoneCall | None:
    direction = _direction(conv.direction)
    if conv.channel != "phone" or direction is None:
        return None
    common = {
        "direction": direction,
        "phone_number_id": _as_text(el_call.get("phone_number_id")),
        "agent_number": conv.agent_number or "",
        "external_number": conv.customer_number or "",
        "call_sid": _as_text(el_call.get("call_sid")) or conv.provider_conversation_id,
    }
    if el_call.get("type") == "twilio":
        return TwilioPhoneCall(**common, stream_sid=_as_text(el_call.get("stream_sid")))
    return SipTrunkingPhoneCall(**common)


def _analysis(conv: Conversation) -> ConversationAnalysis:
    analysis = conv.analysis or {}
    evaluations: dict[str, EvaluationCriteriaResult] = {}
    for item in _mappings(analysis.get("evaluation_results")):
        criteria_id = _as_text(item.get("criteria_id"))
        evaluations[criteria_id] = EvaluationCriteriaResult(
            criteria_id=criteria_id, result=_outcome(item.get("result")), rationale=_as_text(item.get("rationale"))
        )
    collected: dict[str, DataCollectionResult] = {}
    for item in _mappings(analysis.get("data_collection")):
        field_id = _as_text(item.get("data_collection_id"))
        collected[field_id] = DataCollectionResult(
            data_collection_id=field_id, value=item.get("value"), rationale=_as_text(item.get("rationale"))
        )
    return ConversationAnalysis(
        evaluation_criteria_results=evaluations,
        data_collection_results=collected,
        call_successful=_outcome(conv.call_successful),
        transcript_summary=conv.summary or "",
        call_summary_title=conv.title,
    )


# ---------------------------------------------------------------------- values


def _raw(conv: Conversation) -> Mapping[str, Any]:
    """The stored ElevenLabs body of an ElevenLabs conversation; empty for any other."""
    return _mapping(conv.raw) if conv.provider == ELEVENLABS else {}


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _first(source: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if source.get(key) is not None:
            return source[key]
    return None


def _as_text(value: Any, *, empty: str = "") -> str:
    if value is None:
        return empty
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def _as_bool(value: Any, *, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _opt_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _opt_int(value: Any) -> int | None:
    number = _opt_float(value)
    return None if number is None else round(number)


def _int(value: Any) -> int:
    return _opt_int(value) or 0


def _outcome(value: Any) -> CallSuccessful:
    return CallSuccessful(value) if value in CallSuccessful._value2member_map_ else CallSuccessful.unknown


def _direction(value: Any) -> Direction | None:
    return Direction(value) if value in Direction._value2member_map_ else None
