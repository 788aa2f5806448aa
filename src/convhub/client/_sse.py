"""Server-sent events, parsed from an httpx response's lines (both convhub streams use them)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data) if self.data else None


class _Decoder:
    """The SSE line protocol: fields until a blank line; comments (``:``) ignored."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data and self._event == "message":
                return None
            event = ServerSentEvent(self._event, "\n".join(self._data), self._id)
            self._event, self._data = "message", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        return None


def iter_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    decoder = _Decoder()
    for line in lines:
        if (event := decoder.feed(line)) is not None:
            yield event


async def aiter_sse(lines: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    decoder = _Decoder()
    async for line in lines:
        if (event := decoder.feed(line)) is not None:
            yield event
