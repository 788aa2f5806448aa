"""What every server-sent-event stream of the SDK shares: iteration, closing, ``with``, transport errors.

A subclass says what one frame means (``_convert``: an item to yield, or None
to read on); this base reads the frames off the response, turns a broken
connection into ``APIConnectionError``, and always releases the connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Generic, Self, TypeVar

import httpx

from ._base import _connection_error
from ._sse import ServerSentEvent, aiter_sse, iter_sse

T = TypeVar("T")


class SSEStream(Generic[T]):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._iterator = self._items()

    def _convert(self, sse: ServerSentEvent) -> T | None:
        raise NotImplementedError

    def _items(self) -> Iterator[T]:
        try:
            for sse in iter_sse(self.response.iter_lines()):
                if (item := self._convert(sse)) is not None:
                    yield item
        except httpx.TransportError as exc:
            raise _connection_error(exc, self.response.request) from exc
        finally:
            self.response.close()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        return next(self._iterator)

    def close(self) -> None:
        """Stop reading and drop the connection."""
        self.response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncSSEStream(Generic[T]):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._iterator = self._items()

    def _convert(self, sse: ServerSentEvent) -> T | None:
        raise NotImplementedError

    async def _items(self) -> AsyncIterator[T]:
        try:
            async for sse in aiter_sse(self.response.aiter_lines()):
                if (item := self._convert(sse)) is not None:
                    yield item
        except httpx.TransportError as exc:
            raise _connection_error(exc, self.response.request) from exc
        finally:
            await self.response.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await anext(self._iterator)

    async def close(self) -> None:
        """Stop reading and drop the connection."""
        await self.response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
