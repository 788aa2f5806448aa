"""``client.events``: the workspace's live events (``GET /v1/events``) as an iterator of typed ``Event``.

A stream is an iterator and a context manager: leaving the ``with`` block (or
``close()``) drops the connection. It remembers the last event id it yielded,
so a caller whose connection broke can resume with
``stream(last_event_id=old.last_event_id)``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._base import AsyncAPIClient, SyncAPIClient, query
from ._sse import ServerSentEvent
from ._streams import AsyncSSEStream, SSEStream
from .types import Event

__all__ = ["AsyncEventStream", "AsyncEvents", "EventStream", "Events"]

_PATH = "/v1/events"
SSE_HEADERS = {"Accept": "text/event-stream"}


def _params(
    conversation_id: str | None, types: Iterable[str] | str | None, last_event_id: str | None
) -> list[tuple[str, str]]:
    params = query(conversation_id=conversation_id, last_event_id=last_event_id)
    if isinstance(types, str):
        types = [types]
    params.extend(("type", t) for t in types or ())
    return params


class _LastEventId:
    """Remembers the id of the last event yielded, to resume after it."""

    last_event_id: str | None = None

    def _convert(self, sse: ServerSentEvent) -> Event:
        event = Event.model_validate_json(sse.data)
        self.last_event_id = event.id
        return event


class EventStream(_LastEventId, SSEStream[Event]):
    """Events as they happen; iterate it, and close it (or use ``with``) when done."""


class AsyncEventStream(_LastEventId, AsyncSSEStream[Event]):
    """Events as they happen; ``async for`` over it, and close it (or use ``async with``) when done."""


class Events:
    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    def stream(
        self,
        *,
        conversation_id: str | None = None,
        types: Iterable[str] | str | None = None,
        last_event_id: str | None = None,
    ) -> EventStream:
        """Open the live event stream, optionally for one conversation and some event types, resuming
        after ``last_event_id``. Opening is retried like any request; a stream that breaks later is not."""
        params = _params(conversation_id, types, last_event_id)
        return EventStream(self._client.request("GET", _PATH, params=params, headers=SSE_HEADERS, stream=True))


class AsyncEvents:
    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client

    async def stream(
        self,
        *,
        conversation_id: str | None = None,
        types: Iterable[str] | str | None = None,
        last_event_id: str | None = None,
    ) -> AsyncEventStream:
        """Open the live event stream, optionally for one conversation and some event types, resuming
        after ``last_event_id``. Opening is retried like any request; a stream that breaks later is not."""
        params = _params(conversation_id, types, last_event_id)
        response = await self._client.request("GET", _PATH, params=params, headers=SSE_HEADERS, stream=True)
        return AsyncEventStream(response)
