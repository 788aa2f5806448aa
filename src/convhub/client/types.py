"""Response models of the SDK.

Defined here rather than imported from the server so the SDK installs with
httpx + pydantic alone. They accept fields they do not know (``extra="allow"``)
and keep enum-like fields as plain strings, so a newer server never breaks an
older SDK.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Agent",
    "CallSuccessful",
    "ChatConversation",
    "Conversation",
    "ConversationAnalytics",
    "ConversationDetail",
    "ConversationFlow",
    "DataCollection",
    "Document",
    "EntityType",
    "EvaluationResult",
    "Event",
    "Feedback",
    "FeedbackValue",
    "Message",
    "MessageDelta",
    "MessageStatistics",
    "QualityMetrics",
    "StreamDone",
    "Turn",
]

CallSuccessful = Literal["success", "failure", "unknown"]
FeedbackValue = Literal["like", "dislike"]
EntityType = Literal["USER", "LEAD"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Feedback(_Model):
    likes: int = 0
    dislikes: int = 0
    comment: str | None = None


class EvaluationResult(_Model):
    criteria_id: str
    result: str  # success | failure | unknown
    rationale: str = ""


class DataCollection(_Model):
    data_collection_id: str
    value: Any = None
    rationale: str = ""


class Turn(_Model):
    """One message of a transcript."""

    id: str  # the message's own id, msg_…
    index: int
    role: str  # user | agent | human_operator | system | tool
    message: str | None = None
    time_in_call_secs: float = 0
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    tool_results: list[dict[str, Any]] = Field(default_factory=list)
    feedback: str | None = None
    rating: int | None = None
    interrupted: bool = False
    source_medium: str | None = None
    llm_usage: dict[str, Any] | None = None
    created_at: datetime | None = None


class Conversation(_Model):
    id: str
    provider: str
    provider_conversation_id: str
    agent_id: str
    agent_name: str | None = None
    channel: str
    direction: str | None = None  # inbound | outbound
    status: str  # initiated | in-progress | processing | done | failed
    provider_status: str | None = None
    entity_type: str = "USER"
    user_id: str | None = None
    customer_number: str | None = None
    agent_number: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    duration_secs: int = 0
    message_count: int = 0
    call_successful: str = "unknown"  # success | failure | unknown
    rating: int | None = None
    feedback: Feedback = Field(default_factory=Feedback)
    summary: str | None = None
    title: str | None = None
    sentiment: str | None = None
    termination_reason: str | None = None
    cost_cents: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    has_audio: bool = False
    archived: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ConversationDetail(Conversation):
    evaluation_results: list[EvaluationResult] = Field(default_factory=list)
    data_collection: list[DataCollection] = Field(default_factory=list)
    transcript: list[Turn] = Field(default_factory=list)


class ChatConversation(Conversation):
    """A conversation with one of convhub's own agents, as the chat endpoints return it."""

    last_activity_at: datetime | None = None
    taken_over_by: str | None = None  # the API key id of the operator holding it
    taken_over_at: datetime | None = None


class Message(Turn):
    """One message of a chat: a stored turn, with its conversation and its text as ``content``."""

    conversation_id: str
    content: str | None = None
    feedback_comment: str | None = None


class MessageDelta(_Model):
    """The next piece of a streamed reply."""

    content: str


class StreamDone(_Model):
    """The end of a streamed exchange: what was stored."""

    conversation_id: str
    message_id: str  # the message sent (msg_…)
    reply_id: str | None = None  # the stored reply; None when the agent did not reply (an operator holds the chat)
    taken_over: bool = False


class Agent(_Model):
    """An agent: native (``provider == "convhub"``, with a backend) or mirrored from a provider."""

    id: str
    name: str
    provider: str
    provider_agent_id: str | None = None
    backend: str | None = None  # knowledge | openai; None for a provider's agent
    public: bool = False
    system_prompt: str | None = None
    context_budget_chars: int | None = None
    fallback_reply: str | None = None
    base_url: str | None = None
    model: str | None = None
    has_api_key: bool = False  # the key itself is never returned
    temperature: float | None = None
    max_tokens: int | None = None
    document_count: int = 0
    created_at: datetime
    updated_at: datetime


class Document(_Model):
    """A text or markdown document a knowledge agent answers from (its first characters, not all of it)."""

    id: str
    agent_id: str
    name: str
    chars: int
    preview: str
    created_at: datetime


class Event(_Model):
    """One live event of the workspace: a turn added, a status change, a takeover, sync progress…"""

    id: str  # pass as ``last_event_id`` to resume after it
    type: str  # turn.added | conversation.status | conversation.takeover | conversation.release | sync.progress
    conversation_id: str | None = None
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class MessageStatistics(_Model):
    total_messages: int  # every turn, system notices included
    by_role: dict[str, int] = Field(default_factory=dict)
    average_message_length: float | None = None  # characters, over user, agent and operator messages
    average_length_by_role: dict[str, float] = Field(default_factory=dict)


class ConversationFlow(_Model):
    status: str
    started_at: datetime
    ended_at: datetime | None = None
    duration_minutes: float
    first_response_time_secs: float | None = None
    average_response_time_secs: float | None = None
    turns: int  # how many times the floor changed hands


class QualityMetrics(_Model):
    satisfaction_rating: int | None = None  # the conversation's overall rating, 1-5
    average_message_rating: float | None = None
    rated_messages: int = 0
    likes: int = 0
    dislikes: int = 0
    feedback_comment: str | None = None
    interrupted_replies: int = 0


class ConversationAnalytics(_Model):
    """One conversation's figures: its messages, its flow, its quality."""

    conversation_id: str
    message_statistics: MessageStatistics
    conversation_flow: ConversationFlow
    quality_metrics: QualityMetrics
