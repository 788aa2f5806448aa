"""Factory helpers: realistic normalized conversations with sensible defaults, and their recordings."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.conversations.schemas import (
    AgentRef,
    ConversationIn,
    DataCollectionIn,
    EvaluationResultIn,
    Feedback,
    TurnIn,
)
from convhub.models import Conversation
from convhub.storage.base import BlobStore
from convhub.storage.keys import provider_audio_key

_seq = itertools.count(1)
BASE_TIME = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


def make_turns(*messages: str) -> list[TurnIn]:
    roles = itertools.cycle(["agent", "user"])
    return [TurnIn(role=next(roles), message=m, time_in_call_secs=i * 5) for i, m in enumerate(messages)]


def make_conversation(**overrides: Any) -> ConversationIn:
    n = next(_seq)
    fields: dict[str, Any] = {
        "provider": "elevenlabs",
        "provider_conversation_id": f"conv_el_{n:06d}",
        "agent": AgentRef(provider_agent_id="agent_support", name="Support Sam"),
        "channel": "phone",
        "direction": "inbound",
        "status": "done",
        "started_at": BASE_TIME + timedelta(minutes=n),
        "duration_secs": 60 + n % 300,
        "call_successful": "success",
        "summary": "The caller asked about an invoice.",
        "title": "Invoice question",
        "feedback": Feedback(),
        "evaluation_results": [EvaluationResultIn(criteria_id="resolved", result="success", rationale="ok")],
        "data_collection": [DataCollectionIn(data_collection_id="intent", value="billing", rationale="")],
        "turns": make_turns("Hello, how can I help?", "I have a question about my invoice.",
                            "Sure, let me look it up.", "Thanks!"),
    }
    fields.update(overrides)
    return ConversationIn(**fields)


def revise(conv: ConversationIn, **changes: Any) -> ConversationIn:
    """A validated copy of ``conv`` with ``changes`` (model_copy would skip validation)."""
    return ConversationIn.model_validate({**conv.model_dump(), **changes})


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    """Bytes already in memory as the stream :meth:`BlobStore.put` takes."""
    yield data


async def attach_audio(session: AsyncSession, conversation: Conversation, store: BlobStore, data: bytes) -> str:
    """Give ``conversation`` a recording, stored where sync and webhooks store one; returns its blob key."""
    key = provider_audio_key(conversation.workspace_id, conversation.provider,
                             conversation.provider_conversation_id or conversation.id)
    await store.put(key, one_chunk(data))
    await session.execute(
        update(Conversation)
        .where(Conversation.workspace_id == conversation.workspace_id, Conversation.id == conversation.id)
        .values(audio_key=key, has_audio=True)
    )
    conversation.audio_key, conversation.has_audio = key, True
    return key
