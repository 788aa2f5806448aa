"""Cursor pages that walk the remaining pages by themselves.

Iterating a page yields every item from it and all the pages after it, so a
caller never handles cursors unless they want to (``iter_pages``,
``get_next_page``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _PageBase(Generic[T]):
    def __init__(self, *, data: list[T], next_cursor: str | None, has_more: bool) -> None:
        self.data = data
        self.next_cursor = next_cursor
        self.has_more = has_more

    def has_next_page(self) -> bool:
        return self.has_more and bool(self.next_cursor)

    def _require_next_cursor(self) -> str:
        if not self.has_next_page() or self.next_cursor is None:
            raise RuntimeError("This is the last page: check has_next_page() first.")
        return self.next_cursor

    def __repr__(self) -> str:
        return f"{type(self).__name__}(items={len(self.data)}, has_more={self.has_more})"


class SyncPage(_PageBase[T]):
    def __init__(
        self,
        *,
        data: list[T],
        next_cursor: str | None,
        has_more: bool,
        fetch: Callable[[str], SyncPage[T]],
    ) -> None:
        super().__init__(data=data, next_cursor=next_cursor, has_more=has_more)
        self._fetch = fetch

    def get_next_page(self) -> SyncPage[T]:
        return self._fetch(self._require_next_cursor())

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        page = self
        yield page
        while page.has_next_page():
            page = page.get_next_page()
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_PageBase[T]):
    def __init__(
        self,
        *,
        data: list[T],
        next_cursor: str | None,
        has_more: bool,
        fetch: Callable[[str], Awaitable[AsyncPage[T]]],
    ) -> None:
        super().__init__(data=data, next_cursor=next_cursor, has_more=has_more)
        self._fetch = fetch

    async def get_next_page(self) -> AsyncPage[T]:
        return await self._fetch(self._require_next_cursor())

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page = self
        yield page
        while page.has_next_page():
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item


class AsyncPaginator(Generic[T]):
    """What the async ``list()`` returns: await it for the first page,
    or ``async for`` over it for every item of every page."""

    def __init__(self, first_page: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first_page = first_page

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self
        async for item in page:
            yield item
