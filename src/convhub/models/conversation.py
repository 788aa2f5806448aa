"""Conversations, their turns, and the side tables that list filters use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from convhub.kit.ids import new_message_id
from convhub.kit.time import utcnow
from convhub.models.base import Base, BigIntPK, JSONType, Timestamped


class Conversation(Timestamped, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "provider", "provider_conversation_id"),
        Index("ix_conversations_ws_started", "workspace_id", "started_at", "id"),
        Index("ix_conversations_ws_agent_started", "workspace_id", "agent_id", "started_at", "id"),
        Index("ix_conversations_ws_success_started", "workspace_id", "call_successful", "started_at", "id"),
        Index("ix_conversations_ws_duration", "workspace_id", "duration_secs", "id"),
        Index("ix_conversations_ws_rating", "workspace_id", "rating", "id"),
        Index("ix_conversations_ws_user", "workspace_id", "user_id"),
        Index("ix_conversations_ws_customer", "workspace_id", "customer_number"),
        Index("ix_conversations_ws_status", "workspace_id", "status"),
        Index("ix_conversations_ws_provider_id", "workspace_id", "provider_conversation_id"),  # lookups by ref
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(20))
    provider_conversation_id: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    provider_status: Mapped[str | None] = mapped_column(String(40))
    entity_type: Mapped[str] = mapped_column(String(10), default="USER")
    user_id: Mapped[str | None] = mapped_column(String(200))
    customer_number: Mapped[str | None] = mapped_column(String(40))
    agent_number: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    duration_secs: Mapped[int] = mapped_column(default=0)
    message_count: Mapped[int] = mapped_column(default=0)
    call_successful: Mapped[str] = mapped_column(String(10), default="unknown")
    rating: Mapped[int | None]
    feedback_likes: Mapped[int] = mapped_column(default=0)
    feedback_dislikes: Mapped[int] = mapped_column(default=0)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    feedback_score: Mapped[str | None] = mapped_column(String(10))  # this API's own like/dislike
    summary: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(500))
    sentiment: Mapped[str | None] = mapped_column(String(20))
    termination_reason: Mapped[str | None] = mapped_column(Text)
    cost_cents: Mapped[float | None] = mapped_column(Float)
    cost_raw: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    custom_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    analysis: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    has_audio: Mapped[bool] = mapped_column(default=False)
    has_user_audio: Mapped[bool] = mapped_column(default=False)
    has_response_audio: Mapped[bool] = mapped_column(default=False)
    audio_key: Mapped[str | None] = mapped_column(String(300))
    transferred_from_id: Mapped[str | None] = mapped_column(String(40))
    transfer_to: Mapped[str | None] = mapped_column(String(40))  # E.164 the call was handed to, if it was
    archived: Mapped[bool] = mapped_column(default=False)
    last_activity_at: Mapped[datetime | None]  # chats: the last message either way (the inactivity job reads it)
    taken_over_by: Mapped[str | None] = mapped_column(String(60))  # the operator (api key id) holding it, if any
    taken_over_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    source_updated_at: Mapped[datetime | None]
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("conversation_id", "idx"), Index("ux_turns_public_id", "public_id", unique=True))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)  # internal: FTS rowid, order
    # The message's own id (``msg_`` + ULID), the only one the API shows. Every insert gets one from this
    # default, whichever path it takes. Not the integer key: that counts every workspace's turns, so shown it
    # would tell one tenant how busy the others are, and it ties the id to this table's storage.
    public_id: Mapped[str] = mapped_column(String(40), default=new_message_id)
    workspace_id: Mapped[str] = mapped_column(String(40))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    idx: Mapped[int]
    role: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    time_in_call_secs: Mapped[float] = mapped_column(Float, default=0)
    tool_calls: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    tool_results: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    feedback: Mapped[str | None] = mapped_column(String(10))
    feedback_comment: Mapped[str | None] = mapped_column(Text)  # a rated message's written feedback
    rating: Mapped[int | None]
    interrupted: Mapped[bool] = mapped_column(default=False)
    source_medium: Mapped[str | None] = mapped_column(String(10))
    llm_usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvaluationResult(Base):
    __tablename__ = "evaluation_results"
    __table_args__ = (Index("ix_evaluation_results_lookup", "workspace_id", "criteria_id", "result"),)

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    criteria_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    result: Mapped[str] = mapped_column(String(10))


class DataCollectionValue(Base):
    __tablename__ = "data_collection_values"
    __table_args__ = (
        Index("ix_data_collection_text", "workspace_id", "data_collection_id", "value_text"),
        Index("ix_data_collection_num", "workspace_id", "data_collection_id", "value_num"),
    )

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    data_collection_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    value_text: Mapped[str | None] = mapped_column(Text)  # the value as text (JSON for structures)
    value_num: Mapped[float | None] = mapped_column(Float)  # set when the value is a number or boolean


class ToolUsage(Base):
    __tablename__ = "tool_usages"
    __table_args__ = (Index("ix_tool_usages_lookup", "workspace_id", "tool_name"),)

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tool_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
