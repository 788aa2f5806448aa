"""The ElevenLabs conversations dialect on the wire: query, request and response models.

Field names, types and which fields are always present follow the ElevenLabs
API reference (``GetConversationsPageResponseModel``, ``GetConversationResponseModel``
and friends), so the official SDKs and strict clients parse convhub's answers
unchanged. Only what convhub can fill truthfully is modelled; every optional
field of the reference that convhub has nothing for is left out or null.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from convhub.conversations.schemas import CallSuccessful, Direction, Status

MAX_INT32 = 2**31 - 1
# The last second of year 9999: beyond it a Unix time is no date either database stores.
MAX_UNIX = 253_402_300_799
# At most this many values of one repeated filter, as ElevenLabs caps its own lists.
MAX_REPEAT = 50

FeedbackScore = Literal["like", "dislike"]

# --------------------------------------------------------------------- requests


class ConversationListQuery(BaseModel):
    """The query of ``GET /v1/convai/conversations``. Unknown parameters are refused (422).

    ElevenLabs has more filters than convhub keeps (languages, tags, topics…);
    ignoring one would silently return conversations the caller meant to exclude.
    """

    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(None, description="Used for fetching next page. Cursor is returned in the response.")
    agent_id: str | None = Field(None, description="convhub's agent id, or the provider's agent id.")
    call_successful: CallSuccessful | None = Field(None, description="The result of the success evaluation.")
    call_start_before_unix: int | None = Field(
        None, ge=0, le=MAX_UNIX, description="Unix timestamp (in seconds): conversations started up to this time."
    )
    call_start_after_unix: int | None = Field(
        None, ge=0, le=MAX_UNIX, description="Unix timestamp (in seconds): conversations started from this time."
    )
    call_duration_min_secs: int | None = Field(None, ge=0, le=MAX_INT32, description="Minimum call duration.")
    call_duration_max_secs: int | None = Field(None, ge=0, le=MAX_INT32, description="Maximum call duration.")
    rating_max: int | None = Field(None, ge=1, le=5, description="Maximum overall rating (1-5).")
    rating_min: int | None = Field(None, ge=1, le=5, description="Minimum overall rating (1-5).")
    has_feedback_comment: bool | None = Field(None, description="Filter conversations with user feedback comments.")
    user_id: str | None = Field(None, description="Filter conversations by the user ID who initiated them.")
    evaluation_params: list[str] = Field(
        default_factory=list,
        max_length=MAX_REPEAT,
        description="Evaluation filters. Repeat param. Format: criteria_id:result, result one of "
        "success|failure|unknown.",
    )
    data_collection_params: list[str] = Field(
        default_factory=list,
        max_length=MAX_REPEAT,
        description="Data collection filters. Repeat param. Format: id:op:value where op is one of "
        "eq|neq|gt|gte|lt|lte|in|exists|missing. For in, pipe-delimit values; gt|gte|lt|lte need a number; "
        "exists|missing take no value. id:eq: (empty value) matches conversations where the field was not "
        "collected, id:neq: where it was.",
    )
    data_collection_filter: str | None = Field(
        None, description="One more data collection filter, same format as data_collection_params."
    )
    tool_names: list[str] = Field(
        default_factory=list,
        max_length=MAX_REPEAT,
        description="Filter conversations by tool names used during the call (any of them). Repeat param.",
    )
    page_size: int = Field(30, ge=1, le=100, description="How many conversations to return at maximum (1-100).")
    summary_mode: Literal["exclude", "include"] = Field(
        "exclude", description="Whether to include transcript summaries in the response."
    )
    search: str | None = Field(None, description="Full-text search over transcript messages.")
    sort_direction: Literal["asc", "desc"] = Field(
        "desc", description="Order by call start time; newest first by default."
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL, so no stored value can match one.
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain NUL characters")
        return value


class FeedbackRequest(BaseModel):
    """``POST …/{id}/feedback``: like, dislike, or null to take this API's feedback back."""

    feedback: FeedbackScore | None = None


# -------------------------------------------------------------------- responses


class Empty(BaseModel):
    """The ``{}`` that delete and feedback answer with."""


class ConversationSummary(BaseModel):
    agent_id: str
    branch_id: str | None = None
    agent_name: str | None
    conversation_id: str
    start_time_unix_secs: int
    call_duration_secs: int
    message_count: int
    status: Status
    call_successful: CallSuccessful
    transcript_summary: str | None
    call_summary_title: str | None
    direction: Direction | None
    rating: float | None


class ConversationsPage(BaseModel):
    """``GetConversationsPageResponseModel``."""

    conversations: list[ConversationSummary]
    next_cursor: str | None
    has_more: bool


class ToolCall(BaseModel):
    """A tool call of a transcript turn; the provider's other keys ride along."""

    model_config = ConfigDict(extra="allow")

    request_id: str
    tool_name: str
    params_as_json: str
    tool_has_been_called: bool


class ToolResult(BaseModel):
    """A tool result of a transcript turn; the provider's other keys ride along."""

    model_config = ConfigDict(extra="allow")

    request_id: str
    tool_name: str
    result_value: str
    is_error: bool
    tool_has_been_called: bool
    type: str


class TurnFeedback(BaseModel):
    score: FeedbackScore
    time_in_call_secs: int


class TranscriptTurn(BaseModel):
    role: Literal["user", "agent"]
    message: str | None
    tool_calls: list[ToolCall]
    tool_results: list[ToolResult]
    feedback: TurnFeedback | None
    time_in_call_secs: int
    llm_usage: dict[str, Any] | None
    interrupted: bool
    original_message: str | None = None
    source_medium: Literal["audio", "text"] | None


class ConversationFeedback(BaseModel):
    type: Literal["thumbs", "rating"] | None
    overall_score: FeedbackScore | None
    likes: int
    dislikes: int
    rating: int | None
    comment: str | None


class _PhoneCallBase(BaseModel):
    direction: Direction
    phone_number_id: str
    agent_number: str
    external_number: str
    call_sid: str


class TwilioPhoneCall(_PhoneCallBase):
    type: Literal["twilio"] = "twilio"
    stream_sid: str


class SipTrunkingPhoneCall(_PhoneCallBase):
    type: Literal["sip_trunking"] = "sip_trunking"


PhoneCall = Annotated[TwilioPhoneCall | SipTrunkingPhoneCall, Field(discriminator="type")]


class ConversationMetadata(BaseModel):
    start_time_unix_secs: int
    accepted_time_unix_secs: int | None = None
    call_duration_secs: int
    cost: int | None = Field(None, description="In ElevenLabs credits, when the provider reported credits.")
    cost_fiat: float | None = Field(None, description="In US dollars, when known.")
    feedback: ConversationFeedback
    phone_call: PhoneCall | None
    batch_call: None = None
    termination_reason: str
    error: None = None
    warnings: list[str] = Field(default_factory=list)
    main_language: str | None
    rag_usage: None = None
    text_only: bool
    timezone: str | None = None


class EvaluationCriteriaResult(BaseModel):
    criteria_id: str
    result: CallSuccessful
    rationale: str


class DataCollectionResult(BaseModel):
    data_collection_id: str
    value: Any = None
    json_schema: None = None
    rationale: str


class ConversationAnalysis(BaseModel):
    evaluation_criteria_results: dict[str, EvaluationCriteriaResult]
    data_collection_results: dict[str, DataCollectionResult]
    call_successful: CallSuccessful
    transcript_summary: str
    call_summary_title: str | None


class ConversationInitiationClientData(BaseModel):
    user_id: str | None = None
    dynamic_variables: dict[str, Any] = Field(default_factory=dict)


class ConversationDetail(BaseModel):
    """``GetConversationResponseModel``."""

    agent_id: str
    agent_name: str | None
    conversation_id: str
    status: Status
    user_id: str | None
    branch_id: str | None = None
    transcript: list[TranscriptTurn]
    metadata: ConversationMetadata
    analysis: ConversationAnalysis
    conversation_initiation_client_data: ConversationInitiationClientData
    has_audio: bool
    has_user_audio: bool
    has_response_audio: bool
    has_auxiliary_audio: bool = False


class SignedUrl(BaseModel):
    """``ConversationSignedUrlResponseModel``."""

    signed_url: str


class ConversationToken(BaseModel):
    """``TokenResponseModel``."""

    token: str
    conversation_id: str = Field(description="The id of the conversation the token opens.")
