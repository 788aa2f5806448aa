"""``client.conversations``: the conversation endpoints, sync and async.

Both classes build requests and parse responses with the same module-level
helpers; they differ only in awaiting.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from ._base import AsyncAPIClient, Params, SyncAPIClient, query
from ._pagination import AsyncPage, AsyncPaginator, SyncPage
from .types import (
    CallSuccessful,
    ChatConversation,
    Conversation,
    ConversationAnalytics,
    ConversationDetail,
    EntityType,
    FeedbackValue,
    Turn,
    _Model,
)

__all__ = ["AsyncConversations", "ConversationFilters", "Conversations"]

_M = TypeVar("_M", bound=BaseModel)


class ConversationFilters(TypedDict, total=False):
    """Keyword filters of ``conversations.list()``; None means "not filtered"."""

    agent_id: str | None
    provider: str | None
    status: str | None
    channel: str | None
    direction: Literal["inbound", "outbound"] | None
    entity_type: Literal["USER", "LEAD"] | None
    user_id: str | None
    customer: str | None
    started_after: datetime | str | None
    started_before: datetime | str | None
    duration_min: int | None
    duration_max: int | None
    rating_min: int | None
    rating_max: int | None
    call_successful: CallSuccessful | None
    has_audio: bool | None
    metadata: Mapping[str, str] | None  # every pair must match (sent as repeated key=value)
    q: str | None  # full-text search
    sort: Literal["started_at", "duration", "rating"] | None
    order: Literal["asc", "desc"] | None
    limit: int | None  # page size, 1-100 (server default 30)
    cursor: str | None  # start from this page instead of the first


class _PageBody(_Model):
    data: builtins.list[Conversation]
    next_cursor: str | None = None
    has_more: bool = False


class _ActiveBody(_Model):
    data: builtins.list[Conversation]


class _TranscriptBody(_Model):
    conversation_id: str
    turns: builtins.list[Turn]


class _SignedUrlBody(_Model):
    signed_url: str


class _TokenBody(_Model):
    token: str


def _conversation_path(conversation_id: str, suffix: str = "") -> str:
    if not conversation_id:
        raise ValueError("conversation_id must be a non-empty string")
    return f"/v1/conversations/{quote(conversation_id, safe='')}{suffix}"


def _feedback_path(conversation_id: str) -> str:
    if not conversation_id:
        raise ValueError("conversation_id must be a non-empty string")
    return f"/v1/convai/conversations/{quote(conversation_id, safe='')}/feedback"


def _create_body(
    agent_id: str, entity_type: EntityType, metadata: Mapping[str, Any] | None, title: str | None, user_id: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"agent_id": agent_id, "entity_type": entity_type, "metadata": dict(metadata or {})}
    if title is not None:
        body["title"] = title
    if user_id is not None:
        body["user_id"] = user_id
    return body


def _with_cursor(params: Params, cursor: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in params if k != "cursor"] + [("cursor", cursor)]


def _parse(model: type[_M], response: httpx.Response) -> _M:
    return model.model_validate_json(response.content)


_LIST = "/v1/conversations"
_ACTIVE = "/v1/conversations/active"
_SIGNED_URL = "/v1/convai/conversation/get-signed-url"
_TOKEN = "/v1/convai/conversation/token"
_AUDIO_HEADERS = {"Accept": "audio/mpeg"}


class Conversations:
    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    def list(self, **filters: Unpack[ConversationFilters]) -> SyncPage[Conversation]:
        """The first page of matching conversations; iterate it to walk every page."""
        return self._page(query(**filters))

    def _page(self, params: Params) -> SyncPage[Conversation]:
        body = _parse(_PageBody, self._client.request("GET", _LIST, params=params))
        return SyncPage(
            data=body.data,
            next_cursor=body.next_cursor,
            has_more=body.has_more,
            fetch=lambda cursor: self._page(_with_cursor(params, cursor)),
        )

    def get(self, conversation_id: str) -> ConversationDetail:
        return _parse(ConversationDetail, self._client.request("GET", _conversation_path(conversation_id)))

    def create(
        self,
        agent_id: str,
        *,
        entity_type: EntityType = "USER",
        metadata: Mapping[str, Any] | None = None,
        title: str | None = None,
        user_id: str | None = None,
    ) -> ChatConversation:
        """Start a chat with one of convhub's own agents."""
        body = _create_body(agent_id, entity_type, metadata, title, user_id)
        return _parse(ChatConversation, self._client.request("POST", _LIST, json=body))

    def end(self, conversation_id: str, *, rating: int | None = None, feedback: str | None = None) -> ChatConversation:
        """End a chat, with the user's overall rating (1-5) and comment when given."""
        body = {"rating": rating, "feedback": feedback}
        return _parse(
            ChatConversation, self._client.request("POST", _conversation_path(conversation_id, "/end"), json=body)
        )

    def archive(self, conversation_id: str) -> ChatConversation:
        """Archive a finished conversation (``ConflictError`` while it is under way)."""
        response = self._client.request("POST", _conversation_path(conversation_id, "/archive"))
        return _parse(ChatConversation, response)

    def takeover(self, conversation_id: str) -> ChatConversation:
        """Become the chat's operator: the agent stops replying; answer with ``role="human_operator"``."""
        response = self._client.request("POST", _conversation_path(conversation_id, "/takeover"))
        return _parse(ChatConversation, response)

    def release(self, conversation_id: str) -> ChatConversation:
        """Hand the chat back to the agent."""
        response = self._client.request("POST", _conversation_path(conversation_id, "/release"))
        return _parse(ChatConversation, response)

    def analytics(self, conversation_id: str) -> ConversationAnalytics:
        """Message statistics, flow (duration, response times, turns) and quality (ratings, likes)."""
        response = self._client.request("GET", _conversation_path(conversation_id, "/analytics"))
        return _parse(ConversationAnalytics, response)

    def transcript(self, conversation_id: str) -> builtins.list[Turn]:
        response = self._client.request("GET", _conversation_path(conversation_id, "/transcript"))
        return _parse(_TranscriptBody, response).turns

    def update(self, conversation_id: str, *, metadata: Mapping[str, Any]) -> Conversation:
        """Merge ``metadata`` into the conversation's metadata; a None value removes that key."""
        response = self._client.request("PATCH", _conversation_path(conversation_id), json={"metadata": dict(metadata)})
        return _parse(Conversation, response)

    def delete(self, conversation_id: str) -> None:
        self._client.request("DELETE", _conversation_path(conversation_id))

    def active(self) -> builtins.list[Conversation]:
        """Conversations still under way."""
        return _parse(_ActiveBody, self._client.request("GET", _ACTIVE)).data

    def get_audio(self, conversation_id: str) -> bytes:
        """The recording as MP3 bytes (``NotFoundError`` when the conversation has none)."""
        path = _conversation_path(conversation_id, "/audio")
        return self._client.request("GET", path, headers=_AUDIO_HEADERS).content

    def download_audio(self, conversation_id: str, path: str | os.PathLike[str]) -> Path:
        """Stream the recording to ``path`` without holding it in memory; return the path."""
        target = Path(path)
        url = _conversation_path(conversation_id, "/audio")
        response = self._client.request("GET", url, headers=_AUDIO_HEADERS, stream=True)
        try:
            with target.open("wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
        finally:
            response.close()
        return target

    def get_signed_url(self, agent_id: str, *, include_conversation_id: bool = False) -> str:
        """A signed URL to open a live conversation with ``agent_id``."""
        params = query(agent_id=agent_id, include_conversation_id=include_conversation_id)
        return _parse(_SignedUrlBody, self._client.request("GET", _SIGNED_URL, params=params)).signed_url

    def get_token(self, agent_id: str, *, participant_name: str | None = None) -> str:
        """A short-lived token for a real-time session with ``agent_id``."""
        params = query(agent_id=agent_id, participant_name=participant_name)
        return _parse(_TokenBody, self._client.request("GET", _TOKEN, params=params)).token

    def send_feedback(self, conversation_id: str, feedback: FeedbackValue) -> None:
        self._client.request("POST", _feedback_path(conversation_id), json={"feedback": feedback})


class AsyncConversations:
    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client

    def list(self, **filters: Unpack[ConversationFilters]) -> AsyncPaginator[Conversation]:
        """``await`` it for the first page, or ``async for`` over it for every conversation."""
        params = query(**filters)
        return AsyncPaginator(lambda: self._page(params))

    async def _page(self, params: Params) -> AsyncPage[Conversation]:
        body = _parse(_PageBody, await self._client.request("GET", _LIST, params=params))
        return AsyncPage(
            data=body.data,
            next_cursor=body.next_cursor,
            has_more=body.has_more,
            fetch=lambda cursor: self._page(_with_cursor(params, cursor)),
        )

    async def get(self, conversation_id: str) -> ConversationDetail:
        response = await self._client.request("GET", _conversation_path(conversation_id))
        return _parse(ConversationDetail, response)

    async def create(
        self,
        agent_id: str,
        *,
        entity_type: EntityType = "USER",
        metadata: Mapping[str, Any] | None = None,
        title: str | None = None,
        user_id: str | None = None,
    ) -> ChatConversation:
        """Start a chat with one of convhub's own agents."""
        body = _create_body(agent_id, entity_type, metadata, title, user_id)
        return _parse(ChatConversation, await self._client.request("POST", _LIST, json=body))

    async def end(
        self, conversation_id: str, *, rating: int | None = None, feedback: str | None = None
    ) -> ChatConversation:
        """End a chat, with the user's overall rating (1-5) and comment when given."""
        body = {"rating": rating, "feedback": feedback}
        response = await self._client.request("POST", _conversation_path(conversation_id, "/end"), json=body)
        return _parse(ChatConversation, response)

    async def archive(self, conversation_id: str) -> ChatConversation:
        """Archive a finished conversation (``ConflictError`` while it is under way)."""
        response = await self._client.request("POST", _conversation_path(conversation_id, "/archive"))
        return _parse(ChatConversation, response)

    async def takeover(self, conversation_id: str) -> ChatConversation:
        """Become the chat's operator: the agent stops replying; answer with ``role="human_operator"``."""
        response = await self._client.request("POST", _conversation_path(conversation_id, "/takeover"))
        return _parse(ChatConversation, response)

    async def release(self, conversation_id: str) -> ChatConversation:
        """Hand the chat back to the agent."""
        response = await self._client.request("POST", _conversation_path(conversation_id, "/release"))
        return _parse(ChatConversation, response)

    async def analytics(self, conversation_id: str) -> ConversationAnalytics:
        """Message statistics, flow (duration, response times, turns) and quality (ratings, likes)."""
        response = await self._client.request("GET", _conversation_path(conversation_id, "/analytics"))
        return _parse(ConversationAnalytics, response)

    async def transcript(self, conversation_id: str) -> builtins.list[Turn]:
        response = await self._client.request("GET", _conversation_path(conversation_id, "/transcript"))
        return _parse(_TranscriptBody, response).turns

    async def update(self, conversation_id: str, *, metadata: Mapping[str, Any]) -> Conversation:
        """Merge ``metadata`` into the conversation's metadata; a None value removes that key."""
        response = await self._client.request(
            "PATCH", _conversation_path(conversation_id), json={"metadata": dict(metadata)}
        )
        return _parse(Conversation, response)

    async def delete(self, conversation_id: str) -> None:
        await self._client.request("DELETE", _conversation_path(conversation_id))

    async def active(self) -> builtins.list[Conversation]:
        """Conversations still under way."""
        return _parse(_ActiveBody, await self._client.request("GET", _ACTIVE)).data

    async def get_audio(self, conversation_id: str) -> bytes:
        """The recording as MP3 bytes (``NotFoundError`` when the conversation has none)."""
        path = _conversation_path(conversation_id, "/audio")
        return (await self._client.request("GET", path, headers=_AUDIO_HEADERS)).content

    async def download_audio(self, conversation_id: str, path: str | os.PathLike[str]) -> Path:
        """Stream the recording to ``path`` without holding it in memory; return the path."""
        target = Path(path)
        url = _conversation_path(conversation_id, "/audio")
        response = await self._client.request("GET", url, headers=_AUDIO_HEADERS, stream=True)
        try:
            with target.open("wb") as file:  # noqa: ASYNC230 - local writes of already-received chunks
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
        finally:
            await response.aclose()
        return target

    async def get_signed_url(self, agent_id: str, *, include_conversation_id: bool = False) -> str:
        """A signed URL to open a live conversation with ``agent_id``."""
        params = query(agent_id=agent_id, include_conversation_id=include_conversation_id)
        response = await self._client.request("GET", _SIGNED_URL, params=params)
        return _parse(_SignedUrlBody, response).signed_url

    async def get_token(self, agent_id: str, *, participant_name: str | None = None) -> str:
        """A short-lived token for a real-time session with ``agent_id``."""
        params = query(agent_id=agent_id, participant_name=participant_name)
        return _parse(_TokenBody, await self._client.request("GET", _TOKEN, params=params)).token

    async def send_feedback(self, conversation_id: str, feedback: FeedbackValue) -> None:
        await self._client.request("POST", _feedback_path(conversation_id), json={"feedback": feedback})
