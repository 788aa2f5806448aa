"""``client.messages``: chatting with convhub's own agents — send, stream a reply, list, rate — sync and async.

Every message has an id of its own (``msg_…``), so rating needs only that:
``client.messages.rate(message_id=reply.id, rating=5, feedback="Clear")``.

A streamed reply is an iterator of ``MessageDelta`` and a context manager; once
iterated it holds the stored reply (``message``) and what was stored
(``done``). A backend failing mid-reply raises ``APIError`` after the last
delta, with what it had said stored (``message.interrupted``).
"""

from __future__ import annotations

import builtins
from typing import Any, Literal
from urllib.parse import quote

import httpx

from ._base import AsyncAPIClient, Params, SyncAPIClient, query
from ._errors import APIError
from ._events import SSE_HEADERS
from ._pagination import AsyncPage, AsyncPaginator, SyncPage
from ._resources import _conversation_path, _parse, _with_cursor
from ._sse import ServerSentEvent
from ._streams import AsyncSSEStream, SSEStream
from .types import Message, MessageDelta, StreamDone, _Model

__all__ = ["AsyncMessageStream", "AsyncMessages", "MessageStream", "Messages"]

SenderRole = Literal["user", "human_operator"]
Order = Literal["asc", "desc"]


class _SendBody(_Model):
    conversation_id: str
    message: Message
    reply: Message | None = None


class _PageBody(_Model):
    data: builtins.list[Message]
    next_cursor: str | None = None
    has_more: bool = False


def _rating_path(message_id: str) -> str:
    if not message_id:
        raise ValueError("message_id must be a non-empty string")
    return f"/v1/messages/{quote(message_id, safe='')}/rating"


def _rating_body(rating: int, feedback: str | None) -> dict[str, Any]:
    return {"rating": rating, "feedback": feedback}


class _StreamState:
    """What both stream flavours learn from the frames: deltas to yield, the stored reply, the end."""

    def __init__(self) -> None:
        self.message: Message | None = None
        self.done: StreamDone | None = None
        self.text = ""

    def handle(self, sse: ServerSentEvent) -> MessageDelta | None:
        if sse.event == "delta":
            delta = MessageDelta.model_validate_json(sse.data)
            self.text += delta.content
            return delta
        if sse.event == "message":
            self.message = Message.model_validate_json(sse.data)
        elif sse.event == "done":
            self.done = StreamDone.model_validate_json(sse.data)
        elif sse.event == "error":
            body = sse.json()
            detail = body.get("message") if isinstance(body, dict) else None
            raise APIError(str(detail or "The agent could not finish its reply."), body=body)
        return None


class _Reply:
    """What both stream flavours expose once read: the stored reply, the end, all that was said."""

    _state: _StreamState

    @property
    def message(self) -> Message | None:
        return self._state.message

    @property
    def done(self) -> StreamDone | None:
        return self._state.done

    @property
    def text(self) -> str:
        return self._state.text

    def _convert(self, sse: ServerSentEvent) -> MessageDelta | None:
        return self._state.handle(sse)


class MessageStream(_Reply, SSEStream[MessageDelta]):
    """An agent's reply as it is produced: iterate for ``MessageDelta`` pieces; afterwards ``message`` is
    the stored reply (None when the agent did not reply) and ``text`` all that was said. Closing it early
    leaves what was said stored on the server, marked interrupted."""

    def __init__(self, response: httpx.Response) -> None:
        self._state = _StreamState()
        super().__init__(response)

    def until_done(self) -> Message | None:
        """Read the rest of the stream; return the stored reply."""
        for _ in self:
            pass
        return self.message


class AsyncMessageStream(_Reply, AsyncSSEStream[MessageDelta]):
    """The async ``MessageStream``: ``async for`` the deltas, then read ``message``."""

    def __init__(self, response: httpx.Response) -> None:
        self._state = _StreamState()
        super().__init__(response)

    async def until_done(self) -> Message | None:
        """Read the rest of the stream; return the stored reply."""
        async for _ in self:
            pass
        return self.message


class Messages:
    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    def send(self, conversation_id: str, content: str, role: SenderRole = "user") -> Message | None:
        """Send a message; return the agent's reply, both stored. None when the agent did not reply
        (an operator holds the conversation, or ``role="human_operator"``)."""
        path = _conversation_path(conversation_id, "/messages")
        response = self._client.request("POST", path, json={"content": content, "role": role})
        return _parse(_SendBody, response).reply

    def stream(self, conversation_id: str, content: str, role: SenderRole = "user") -> MessageStream:
        """Send a message and stream the reply (the message is stored before the reply starts)."""
        path = _conversation_path(conversation_id, "/messages/stream")
        body = {"content": content, "role": role}
        return MessageStream(self._client.request("POST", path, json=body, headers=SSE_HEADERS, stream=True))

    def list(
        self,
        conversation_id: str,
        *,
        order: Order | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> SyncPage[Message]:
        """The first page of the conversation's messages (transcript order unless ``order="desc"``);
        iterate it for every message."""
        path = _conversation_path(conversation_id, "/messages")
        return self._page(path, query(order=order, after=after, before=before, limit=limit))

    def _page(self, path: str, params: Params) -> SyncPage[Message]:
        body = _parse(_PageBody, self._client.request("GET", path, params=params))
        return SyncPage(
            data=body.data,
            next_cursor=body.next_cursor,
            has_more=body.has_more,
            fetch=lambda cursor: self._page(path, _with_cursor(params, cursor)),
        )

    def rate(self, message_id: str, *, rating: int, feedback: str | None = None) -> Message:
        """Rate an agent reply (its ``id``, ``msg_…``) from 1 to 5, with optional written feedback; rating again
        replaces it. Returns the rated message."""
        response = self._client.request("POST", _rating_path(message_id), json=_rating_body(rating, feedback))
        return _parse(Message, response)


class AsyncMessages:
    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client

    async def send(self, conversation_id: str, content: str, role: SenderRole = "user") -> Message | None:
        """Send a message; return the agent's reply, both stored. None when the agent did not reply
        (an operator holds the conversation, or ``role="human_operator"``)."""
        path = _conversation_path(conversation_id, "/messages")
        response = await self._client.request("POST", path, json={"content": content, "role": role})
        return _parse(_SendBody, response).reply

    async def stream(self, conversation_id: str, content: str, role: SenderRole = "user") -> AsyncMessageStream:
        """Send a message and stream the reply (the message is stored before the reply starts)."""
        path = _conversation_path(conversation_id, "/messages/stream")
        body = {"content": content, "role": role}
        response = await self._client.request("POST", path, json=body, headers=SSE_HEADERS, stream=True)
        return AsyncMessageStream(response)

    def list(
        self,
        conversation_id: str,
        *,
        order: Order | None = None,
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[Message]:
        """``await`` it for the first page, or ``async for`` over it for every message."""
        path = _conversation_path(conversation_id, "/messages")
        params = query(order=order, after=after, before=before, limit=limit)
        return AsyncPaginator(lambda: self._page(path, params))

    async def _page(self, path: str, params: Params) -> AsyncPage[Message]:
        body = _parse(_PageBody, await self._client.request("GET", path, params=params))
        return AsyncPage(
            data=body.data,
            next_cursor=body.next_cursor,
            has_more=body.has_more,
            fetch=lambda cursor: self._page(path, _with_cursor(params, cursor)),
        )

    async def rate(self, message_id: str, *, rating: int, feedback: str | None = None) -> Message:
        """Rate an agent reply (its ``id``, ``msg_…``) from 1 to 5, with optional written feedback; rating again
        replaces it. Returns the rated message."""
        response = await self._client.request("POST", _rating_path(message_id), json=_rating_body(rating, feedback))
        return _parse(Message, response)
