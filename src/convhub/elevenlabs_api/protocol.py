"""The text subset of the ElevenLabs conversational WebSocket protocol: what a client may send, what convhub sends.

Pure functions and plain data, no I/O: :mod:`convhub.elevenlabs_api.realtime` reads a
frame, hands it to :func:`parse_client_event`, acts on the result and writes
what the builders here return. Every server event is a JSON object with a
``type`` and, as in ElevenLabs' protocol, its payload under ``<type>_event``
(``agent_chat_response_part`` under ``text_response_part``). What convhub adds
to the protocol (``error``, ``takeover``, ``release``) follows the same shape;
clients that do not know a type ignore it, as the official SDKs do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from convhub.chats.schemas import MAX_MESSAGE_CHARS

# What the initiation message may carry in ``conversation_config_override``; the rest is refused by name.
FIRST_MESSAGE = ("agent", "first_message")
PROMPT = ("agent", "prompt", "prompt")
LANGUAGE = ("agent", "language")
MAX_DYNAMIC_VARIABLES = 100
MAX_VARIABLE_CHARS = 2000
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")

ErrorCode = Literal[
    "invalid_message", "unsupported_event", "unsupported_override", "already_started", "conversation_closed",
    "agent_error",
]


class ProtocolError(Exception):
    """A client frame convhub cannot act on; reported to the client as an ``error`` event."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


# ---------------------------------------------------------------- client → convhub


@dataclass(frozen=True)
class Initiation:
    """``conversation_initiation_client_data``: how the client wants the conversation set up."""

    user_id: str | None = None
    dynamic_variables: dict[str, str | int | float | bool] = field(default_factory=dict)
    first_message: str | None = None
    prompt: str | None = None
    language: str | None = None
    ignored: tuple[str, ...] = ()  # overrides convhub does not apply, by dotted path


@dataclass(frozen=True)
class UserMessage:
    text: str


@dataclass(frozen=True)
class ContextualUpdate:
    text: str


@dataclass(frozen=True)
class UserActivity:
    pass


@dataclass(frozen=True)
class Pong:
    event_id: int


ClientEvent = Initiation | UserMessage | ContextualUpdate | UserActivity | Pong

_UNSUPPORTED = {
    "user_audio_chunk": "Audio is not supported: convhub agents are text-only. Send user_message events.",
    "client_tool_result": "Client tools are not supported by convhub agents; there is no tool call to answer.",
    "multimodal_message": "Files are not supported: send the text as a user_message event.",
    "feedback": "Live feedback is not supported; rate a reply with POST /v1/messages/{message_id}/rating "
                "(its agent_response's message_id) or the conversation when it ends.",
}


def parse_client_event(frame: str) -> ClientEvent:
    """The event a text frame carries (raises :class:`ProtocolError` with what is wrong)."""
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        raise ProtocolError("invalid_message", "Frames must be JSON objects with a \"type\".") from None
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message", "Frames must be JSON objects with a \"type\".")
    kind = message.get("type")
    if kind is None and "user_audio_chunk" in message:
        kind = "user_audio_chunk"  # the one event the protocol sends without a type
    if kind == "user_message":
        return UserMessage(_text(message, "user_message", MAX_MESSAGE_CHARS))
    if kind == "contextual_update":
        return ContextualUpdate(_text(message, "contextual_update", MAX_MESSAGE_CHARS))
    if kind == "user_activity":
        return UserActivity()
    if kind == "pong":
        event_id = message.get("event_id")
        if not isinstance(event_id, int) or isinstance(event_id, bool):
            raise ProtocolError("invalid_message", "pong needs the integer event_id of the ping it answers.")
        return Pong(event_id)
    if kind == "conversation_initiation_client_data":
        return parse_initiation(message)
    if isinstance(kind, str) and kind in _UNSUPPORTED:
        raise ProtocolError("unsupported_event", _UNSUPPORTED[kind])
    raise ProtocolError("unsupported_event", f"Unknown event type {kind!r}. convhub understands user_message, "
                        "contextual_update, user_activity, pong and conversation_initiation_client_data.")


def _text(message: Mapping[str, Any], kind: str, limit: int) -> str:
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("invalid_message", f"{kind} needs a non-empty \"text\".")
    if len(text) > limit:
        raise ProtocolError("invalid_message", f"{kind} text is {len(text)} characters; the limit is {limit}.")
    if "\x00" in text:
        raise ProtocolError("invalid_message", f"{kind} text must not contain NUL characters.")
    return text


def parse_initiation(message: Mapping[str, Any]) -> Initiation:
    """The set-up a ``conversation_initiation_client_data`` frame asks for."""
    user_id = message.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not 0 < len(user_id) <= 200 or "\x00" in user_id):
        raise ProtocolError("invalid_message", "user_id must be a string of 1 to 200 characters.")
    variables = _dynamic_variables(message.get("dynamic_variables"))
    override = message.get("conversation_config_override") or {}
    if not isinstance(override, dict):
        raise ProtocolError("invalid_message", "conversation_config_override must be an object.")
    found: dict[tuple[str, ...], Any] = {}
    ignored: list[str] = []
    for path, value in _leaves(override):
        if path in (FIRST_MESSAGE, PROMPT, LANGUAGE):
            if value is not None and (not isinstance(value, str) or len(value) > MAX_MESSAGE_CHARS):
                raise ProtocolError("invalid_message", f"{'.'.join(path)} must be a string of at most "
                                    f"{MAX_MESSAGE_CHARS} characters.")
            found[path] = value
        elif path == ("text_only",) or path == ("conversation", "text_only"):
            if value is False:
                ignored.append(".".join(path))  # asking for audio: convhub answers in text regardless
        else:
            ignored.append(".".join(path))
    if message.get("custom_llm_extra_body"):
        ignored.append("custom_llm_extra_body")
    return Initiation(
        user_id=user_id,
        dynamic_variables=variables,
        first_message=found.get(FIRST_MESSAGE) or None,
        prompt=found.get(PROMPT) or None,
        language=found.get(LANGUAGE) or None,
        ignored=tuple(ignored),
    )


def _dynamic_variables(value: Any) -> dict[str, str | int | float | bool]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError("invalid_message", "dynamic_variables must be an object of names to values.")
    if len(value) > MAX_DYNAMIC_VARIABLES:
        raise ProtocolError("invalid_message", f"At most {MAX_DYNAMIC_VARIABLES} dynamic_variables.")
    variables: dict[str, str | int | float | bool] = {}
    for name, item in value.items():
        if not isinstance(item, str | int | float | bool):
            raise ProtocolError("invalid_message", f"dynamic_variables.{name} must be a string, number or boolean.")
        if isinstance(item, str) and (len(item) > MAX_VARIABLE_CHARS or "\x00" in item):
            raise ProtocolError("invalid_message", f"dynamic_variables.{name} must be text of at most "
                                f"{MAX_VARIABLE_CHARS} characters.")
        variables[name] = item
    return variables


def _leaves(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    leaves: list[tuple[tuple[str, ...], Any]] = []
    for key, value in tree.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and value:
            leaves.extend(_leaves(value, path))
        else:
            leaves.append((path, value))
    return leaves


def render(template: str, variables: Mapping[str, str | int | float | bool]) -> str:
    """``template`` with each ``{{name}}`` replaced by its dynamic variable (unknown names are left as written)."""
    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name not in variables:
            return match[0]
        item = variables[name]
        return str(item).lower() if isinstance(item, bool) else str(item)

    return _VARIABLE.sub(value, template)


# ---------------------------------------------------------------- convhub → client


def _event(kind: str, payload_key: str, payload: Mapping[str, Any]) -> str:
    return orjson.dumps({"type": kind, payload_key: payload}).decode()


def initiation_metadata(conversation_id: str, agent_id: str) -> str:
    return _event("conversation_initiation_metadata", "conversation_initiation_metadata_event", {
        "conversation_id": conversation_id, "agent_id": agent_id, "text_only": True,
        "agent_output_audio_format": None, "user_input_audio_format": None,
    })


def response_part(kind: Literal["start", "delta", "stop"], text: str = "") -> str:
    return _event("agent_chat_response_part", "text_response_part", {"text": text, "type": kind})


def agent_response(text: str, *, message_id: str | None, role: str = "agent", interrupted: bool = False) -> str:
    """The whole reply, or as far as it got before the agent failed (``interrupted``); or an operator's
    message (``role`` says who wrote it)."""
    return _event("agent_response", "agent_response_event",
                  {"agent_response": text, "message_id": message_id, "role": role, "interrupted": interrupted})


def ping(event_id: int, ping_ms: int | None) -> str:
    return _event("ping", "ping_event", {"event_id": event_id, "ping_ms": ping_ms})


def error(code: ErrorCode, message: str) -> str:
    return _event("error", "error_event", {"code": code, "message": message})


def takeover(message: str) -> str:
    return _event("takeover", "takeover_event", {"message": message})


def release(message: str) -> str:
    return _event("release", "release_event", {"message": message})
