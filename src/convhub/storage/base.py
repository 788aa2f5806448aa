"""The blob store protocol: where audio lives (a local folder by default, S3 at scale)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Protocol


class BlobStore(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the stream under ``key``; returns the byte count. Never holds it whole in memory."""
        ...

    def open(self, key: str) -> AsyncIterator[bytes]:
        """The blob as chunks; raises FileNotFoundError when absent."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

