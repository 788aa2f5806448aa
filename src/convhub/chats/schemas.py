"""Pydantic models of the chat API: what a client sends to hold a conversation, and what it gets back.

The shapes follow what users of chat SDKs expect (a message has an ``id``, a
``role`` and a ``content``) while staying the native API's own: a message is a
stored turn (:class:`~convhub.conversations.schemas.TurnRead`) with the
conversation it belongs to, so the transcript, the events and the message list
all describe a turn the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from convhub.conversations.schemas import ConversationStateRead, ConversationUpdate, EntityType, TurnRead
from convhub.kit.validation import no_nul

MAX_MESSAGE_CHARS = 20_000
MAX_FEEDBACK_CHARS = 5_000
MAX_PAGE = 200

SenderRole = Literal["user", "human_operator"]
Order = Literal["asc", "desc"]


def _no_nul(value: str | None) -> str | None:
    return value if value is None else no_nul(value)


class ChatConversationCreate(BaseModel):
    """``POST /v1/conversations``: start a chat with one of the workspace's native agents."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=200, description="A native agent (provider `convhub`).")
    entity_type: EntityType = EntityType.USER
    metadata: dict[str, Any] = Field(default_factory=dict, description="Custom key-value data kept with the chat.")
    title: str | None = Field(None, max_length=500)
    user_id: str | None = Field(None, min_length=1, max_length=200, description="Your id of the person chatting.")

    @field_validator("metadata")
    @classmethod
    def _storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        # The same rules as a metadata update, so what a chat starts with can always be patched later.
        try:
            ConversationUpdate(metadata=value)
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return value

    @field_validator("title", "user_id")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _no_nul(value)


class ChatConversationRead(ConversationStateRead):
    """A chat: a conversation with when it last moved and who, if anyone, has taken it over."""


class MessageCreate(BaseModel):
    """A message into a chat: the user's, or an operator's while the conversation is taken over."""

    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    role: SenderRole = Field(
        "user", description="`user`, or `human_operator` for an operator who has taken the conversation over."
    )

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        _no_nul(value)
        return value


class MessageRead(TurnRead):
    """One message of a chat: a stored turn, with its conversation and its text also as ``content``."""

    conversation_id: str
    content: str | None = Field(description="The message text (the same as `message`).")
    feedback_comment: str | None = Field(description="The written feedback given with the message's rating.")


class SendResult(BaseModel):
    """What sending a message stored: the message itself and the agent's reply to it."""

    conversation_id: str
    message: MessageRead
    reply: MessageRead | None = Field(
        description="The agent's reply; null when it did not reply (an operator holds the conversation, or the "
        "message was an operator's)."
    )


class MessagePage(BaseModel):
    data: list[MessageRead]
    next_cursor: str | None
    has_more: bool


class MessageRating(BaseModel):
    """A rating of one agent reply, with optional written feedback."""

    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    feedback: str | None = Field(None, max_length=MAX_FEEDBACK_CHARS)

    @field_validator("feedback")
    @classmethod
    def _feedback(cls, value: str | None) -> str | None:
        return _no_nul(value)


class ConversationEnd(BaseModel):
    """Ending a chat, optionally with the user's overall rating and comment."""

    model_config = ConfigDict(extra="forbid")

    rating: int | None = Field(None, ge=1, le=5)
    feedback: str | None = Field(None, max_length=MAX_FEEDBACK_CHARS)

    @field_validator("feedback")
    @classmethod
    def _feedback(cls, value: str | None) -> str | None:
        return _no_nul(value)


# ---------------------------------------------------------------- streaming frames (documented, not validated)


class StreamDelta(BaseModel):
    """``event: delta`` — the next piece of the reply (``content`` repeats ``delta``, for chat SDKs)."""

    delta: str
    content: str


class StreamDone(BaseModel):
    """``event: done`` — the exchange is complete and stored."""

    conversation_id: str
    message_id: str = Field(description="The id (`msg_…`) of the message that was sent.")
    reply_id: str | None = Field(description="The id (`msg_…`) of the stored reply; null when the agent did not "
                                 "reply.")
    taken_over: bool = Field(description="An operator holds the conversation, so the agent did not reply.")


class StreamError(BaseModel):
    """``event: error`` — the agent could not finish; the stream ends after it."""

    message: str


# ---------------------------------------------------------------- analytics


class MessageStatistics(BaseModel):
    total_messages: int = Field(description="Every turn of the transcript, system notices included.")
    by_role: dict[str, int]
    average_message_length: float | None = Field(
        description="Characters per message said by the user, the agent or an operator (system notices excluded)."
    )
    average_length_by_role: dict[str, float]


class ConversationFlow(BaseModel):
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_minutes: float
    first_response_time_secs: float | None = Field(
        description="From the user's first message to the first answer (agent or operator) after it."
    )
    average_response_time_secs: float | None = Field(
        description="From each user message that got an answer to that answer, averaged."
    )
    turns: int = Field(
        description="How many times the floor changed hands: consecutive messages of one side count once."
    )


class QualityMetrics(BaseModel):
    satisfaction_rating: int | None = Field(description="The conversation's overall rating (1-5), if given.")
    average_message_rating: float | None = Field(description="The mean rating of the rated agent replies.")
    rated_messages: int
    likes: int
    dislikes: int
    feedback_comment: str | None
    interrupted_replies: int = Field(description="Agent replies that were cut off before they finished.")


class ConversationAnalytics(BaseModel):
    conversation_id: str
    message_statistics: MessageStatistics
    conversation_flow: ConversationFlow
    quality_metrics: QualityMetrics
