"""Pydantic models of the conversations domain.

Two families live here:

* ``ConversationIn`` / ``TurnIn`` — the *normalized* form every source (import,
  sync, webhooks, chat) hands to the one ingest path. Provider mappers produce
  these; nothing provider-specific is required, and the provider's original
  payload rides along in ``raw`` so nothing is ever lost.
* ``ConversationRead`` / ``ConversationDetail`` / ``TurnRead`` /
  ``ConversationPage`` — the native API's output.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from convhub.kit.validation import check_storable

# Custom metadata is stored whole on the conversation row; this bounds it (as compact UTF-8 JSON).
MAX_METADATA_BYTES = 64 * 1024


class Status(StrEnum):
    initiated = "initiated"
    in_progress = "in-progress"
    processing = "processing"
    done = "done"
    failed = "failed"


class CallSuccessful(StrEnum):
    success = "success"
    failure = "failure"
    unknown = "unknown"


class Direction(StrEnum):
    inbound = "inbound"
    outbound = "outbound"


class EntityType(StrEnum):
    USER = "USER"
    LEAD = "LEAD"


class Role(StrEnum):
    user = "user"
    agent = "agent"
    human_operator = "human_operator"
    system = "system"
    tool = "tool"


class Feedback(BaseModel):
    """Conversation-level feedback: thumbs counts and an optional comment."""

    likes: int = 0
    dislikes: int = 0
    comment: str | None = None


class EvaluationResultIn(BaseModel):
    criteria_id: str
    result: CallSuccessful
    rationale: str = ""


class DataCollectionIn(BaseModel):
    data_collection_id: str
    value: Any = None
    rationale: str = ""


class AgentRef(BaseModel):
    """Which agent handled the conversation, as the source knows it.

    For provider conversations ``provider_agent_id`` is the vendor's id and the
    ingest path finds or creates the mirrored agent; for native conversations
    ``agent_id`` is convhub's own agent id.
    """

    agent_id: str | None = None
    provider_agent_id: str | None = None
    name: str | None = None


class TurnIn(BaseModel):
    role: Role
    message: str | None = None
    time_in_call_secs: float = 0
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    tool_results: list[dict[str, Any]] = Field(default_factory=list)
    feedback: str | None = None  # "like" | "dislike"
    rating: int | None = Field(default=None, ge=1, le=5)
    interrupted: bool = False
    source_medium: str | None = None  # "audio" | "text"
    llm_usage: dict[str, Any] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class ConversationIn(BaseModel):
    """A conversation in convhub's normalized shape, ready for ingest."""

    provider: str  # "elevenlabs" | "retell" | "vapi" | "convhub"
    provider_conversation_id: str
    agent: AgentRef
    channel: str = "phone"
    direction: Direction | None = None
    status: Status = Status.done
    provider_status: str | None = None
    entity_type: EntityType = EntityType.USER
    user_id: str | None = None
    customer_number: str | None = None
    agent_number: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    duration_secs: int = 0
    call_successful: CallSuccessful = CallSuccessful.unknown
    rating: int | None = Field(default=None, ge=1, le=5)
    feedback: Feedback = Field(default_factory=Feedback)
    summary: str | None = None
    title: str | None = None
    sentiment: str | None = None
    termination_reason: str | None = None
    cost_cents: float | None = None
    cost_raw: dict[str, Any] | None = None  # {"amount": …, "unit": …} as the provider said it
    metadata: dict[str, Any] = Field(default_factory=dict)
    evaluation_results: list[EvaluationResultIn] = Field(default_factory=list)
    data_collection: list[DataCollectionIn] = Field(default_factory=list)
    turns: list[TurnIn] = Field(default_factory=list)
    has_audio: bool = False
    has_user_audio: bool = False
    has_response_audio: bool = False
    source_updated_at: datetime | None = None  # the provider's version clock, when it has one
    # The E.164 number the call was handed to when it ended in a transfer; ingest links the
    # conversation that picks up there (same customer, that agent number, just after) back to this one.
    transfer_to: str | None = None
    raw: dict[str, Any] | None = None


class IngestOutcome(StrEnum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"


class IngestResult(BaseModel):
    conversation_id: str
    outcome: IngestOutcome


# ---------------------------------------------------------------- native output


class TurnRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="The message's own id (`msg_…`); chat replies are rated by it.")
    index: int
    role: Role
    message: str | None
    time_in_call_secs: float
    tool_calls: list[dict[str, Any]]
    tool_results: list[dict[str, Any]]
    feedback: str | None
    rating: int | None
    interrupted: bool
    source_medium: str | None
    llm_usage: dict[str, Any] | None
    created_at: datetime


class ConversationRead(BaseModel):
    id: str
    provider: str
    provider_conversation_id: str
    agent_id: str
    agent_name: str | None
    channel: str
    direction: Direction | None
    status: Status
    provider_status: str | None
    entity_type: EntityType
    user_id: str | None
    customer_number: str | None
    agent_number: str | None
    started_at: datetime
    ended_at: datetime | None
    duration_secs: int
    message_count: int
    call_successful: CallSuccessful
    rating: int | None
    feedback: Feedback
    summary: str | None
    title: str | None
    sentiment: str | None
    termination_reason: str | None
    cost_cents: float | None
    metadata: dict[str, Any]
    has_audio: bool
    archived: bool
    transfer_to: str | None = None  # the number this call was handed to, when it ended in a transfer
    transferred_from_id: str | None = None  # the conversation that handed this caller over
    created_at: datetime
    updated_at: datetime


class ConversationStateRead(ConversationRead):
    """A conversation with where it stands: when it last moved, and who, if anyone, has taken it over (a
    chat's operator). What a change to one conversation answers with."""

    last_activity_at: datetime | None
    taken_over_by: str | None = Field(description="The API key id of the operator holding the conversation.")
    taken_over_at: datetime | None


class ConversationDetail(ConversationRead):
    evaluation_results: list[EvaluationResultIn]
    data_collection: list[DataCollectionIn]
    transcript: list[TurnRead]


class ConversationPage(BaseModel):
    data: list[ConversationRead]
    next_cursor: str | None
    has_more: bool


class TranscriptRead(BaseModel):
    conversation_id: str
    turns: list[TurnRead]


class ActiveConversation(ConversationRead):
    """A conversation still under way, with the last thing said in it."""

    latest_turn: TurnRead | None


class ActiveConversations(BaseModel):
    data: list[ActiveConversation]


def metadata_size(metadata: dict[str, Any]) -> int:
    return len(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode())


MAX_METADATA_DEPTH = 32


class ConversationUpdate(BaseModel):
    """PATCH body: ``metadata`` merges into the stored metadata; a null value removes that key."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_storable(value, "metadata", max_depth=MAX_METADATA_DEPTH)
        if metadata_size(value) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata is larger than {MAX_METADATA_BYTES} bytes as JSON")
        return value
