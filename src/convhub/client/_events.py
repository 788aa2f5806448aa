"""``client.events``: the workspace's live events (``GET /v1/events``) as an iterator of typed ``Event``.

A stream is an iterator and a context manager: leaving the ``with`` block (or
``close()``) drops the connection. It remembers the last event id it yielded,
so a caller whose connection broke can resume with
``stream(last_event_id=old.last_event_id)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from types import TracebackType
from typing import Self

import httpx

from ._base import AsyncAPIClient, SyncAPIClient, _connection_error, query
from ._sse import ServerSentEvent, aiter_sse, iter_sse
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


def _event(sse: ServerSentEvent) -> Event:
    return Event.model_validate_json(sse.data)


class EventStream:
    """Events as they happen; iterate it, and close it (or use ``with``) when done."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.last_event_id: str | None = None
        self._iterator = self._events()

    def _events(self) -> Iterator[Event]:
        try:
            for sse in iter_sse(self.response.iter_lines()):
                event = _event(sse)
                self.last_event_id = event.id
                yield event
        except httpx.TransportError as exc:
            raise _connection_error(exc, self.response.request) from exc
        finally:
            self.response.close()

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        return next(self._iterator)

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncEventStream:
    """Events as they happen; ``async for`` over it, and close it (or use ``async with``) when done."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.last_event_id: str | None = None
        self._iterator = self._events()

    async def _events(self) -> AsyncIterator[Event]:
        try:
            async for sse in aiter_sse(self.response.aiter_lines()):
                event = _event(sse)
                self.last_event_id = event.id
                yield event
        except httpx.TransportError as exc:
            raise _connection_error(exc, self.response.request) from exc
        finally:
            await self.response.aclose()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await anext(self._iterator)

    async def close(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


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
