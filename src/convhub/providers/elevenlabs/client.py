"""The ElevenLabs Agents API as a :class:`~convhub.providers.base.Provider`.

Four endpoints are all a sync needs: the conversation list (newest first,
cursor-paged, filterable by start time), the conversation detail, its MP3
recording and its deletion. Retries, the concurrency bound and error
translation live in :class:`~convhub.providers.http.VendorHTTP`; this module
only knows the paths, the ``xi-api-key`` header and the list's shape.

The list item is a summary (no transcript, no analysis details), so every
listed conversation still needs a detail request: ``ListedConversation.detail``
stays None. Its fingerprint is a hash of the whole item, which changes as the
conversation moves on (status, duration, message count, outcome, title).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import orjson

from convhub.conversations.schemas import ConversationIn
from convhub.providers.base import ListedConversation, ListPage, TransientProviderError
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs
from convhub.providers.http import VendorHTTP, check_page_size

__all__ = ["DEFAULT_BASE_URL", "VENDOR_MAX_PAGE", "ElevenLabsProvider"]

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
VENDOR_MAX_PAGE = 100  # the list endpoint refuses a larger page_size
FINAL_STATUSES = frozenset({"done", "failed"})  # ElevenLabs changes nothing after these
_CONVERSATIONS = "/v1/convai/conversations"


class ElevenLabsProvider:
    """One ElevenLabs account (one API key). ``aclose`` it when done."""

    name: ClassVar[str] = "elevenlabs"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        max_concurrency: int = 15,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 6,
        page_size: int = VENDOR_MAX_PAGE,
    ) -> None:
        self.page_size = check_page_size(page_size, VENDOR_MAX_PAGE)
        self.http = VendorHTTP(
            base_url or DEFAULT_BASE_URL,
            {"xi-api-key": api_key, "accept": "application/json"},
            max_concurrency=max_concurrency,
            max_attempts=max_attempts,
            timeout=timeout,
            transport=transport,
        )

    async def list_page(self, cursor: str | None, *, since: datetime | None = None) -> ListPage:
        """One page, newest first. ``cursor`` is ElevenLabs' own ``next_cursor``, passed through.

        ``since`` goes to the server as ``call_start_after_unix`` one second early
        (whether ElevenLabs' bound is inclusive is not documented), and items
        before ``since`` are then dropped here, so the filter is exactly "started
        at or after". A page may therefore come back empty with a cursor.
        """
        params: dict[str, Any] = {"page_size": self.page_size}
        if cursor:
            params["cursor"] = cursor
        since_unix: float | None = None
        if since is not None:
            since_unix = (since if since.tzinfo else since.replace(tzinfo=UTC)).timestamp()
            params["call_start_after_unix"] = max(0, math.floor(since_unix) - 1)
        body = await self.http.request_json("GET", _CONVERSATIONS, "GET conversations", params=params)
        if not isinstance(body, Mapping) or not isinstance(body.get("conversations"), list):
            raise TransientProviderError("GET conversations: the body has no 'conversations' list")
        items = [_listed(item, i) for i, item in enumerate(body["conversations"])]
        if since_unix is not None:
            items = [item for item in items if item.started_at.timestamp() >= since_unix]
        next_cursor = body.get("next_cursor")
        has_more = body.get("has_more", True)
        more = isinstance(next_cursor, str) and bool(next_cursor) and has_more is not False
        return ListPage(items=items, next_cursor=next_cursor if more else None)

    async def get_conversation(self, provider_conversation_id: str) -> dict[str, Any]:
        what = f"GET conversation {provider_conversation_id}"
        body = await self.http.request_json("GET", _path(provider_conversation_id), what)
        if not isinstance(body, dict):
            raise TransientProviderError(f"{what}: the body is not a JSON object")
        return body

    def map_conversation(self, detail: Mapping[str, Any]) -> ConversationIn:
        return conversation_from_elevenlabs(detail)

    def stream_audio(self, provider_conversation_id: str, detail: Mapping[str, Any]) -> AsyncIterator[bytes] | None:
        """The MP3 recording, when the detail says there is one (ElevenLabs answers 404 otherwise)."""
        if detail.get("has_audio") is not True:
            return None
        return self.http.stream_bytes(
            _path(provider_conversation_id) + "/audio", f"GET audio of conversation {provider_conversation_id}"
        )

    async def delete_conversation(self, provider_conversation_id: str) -> None:
        """Delete at ElevenLabs; a conversation already gone raises ``ConversationGone``."""
        await self.http.request_empty(
            "DELETE", _path(provider_conversation_id), f"DELETE conversation {provider_conversation_id}"
        )

    async def check(self) -> None:
        """The smallest authenticated call: a one-item page of the list."""
        await self.http.request_json("GET", _CONVERSATIONS, "GET conversations (check)", params={"page_size": 1})

    async def aclose(self) -> None:
        await self.http.aclose()


def _path(provider_conversation_id: str) -> str:
    # Quoted whole: an id is one path segment, whatever characters it holds.
    return f"{_CONVERSATIONS}/{quote(provider_conversation_id, safe='')}"


def _listed(item: Any, index: int) -> ListedConversation:
    """A list item (``ConversationSummaryResponseModel``) as the engine sees it."""
    where = f"GET conversations: item {index}"
    if not isinstance(item, Mapping):
        raise TransientProviderError(f"{where} is not a JSON object")
    conversation_id = item.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id:
        raise TransientProviderError(f"{where} has no conversation_id")
    start = item.get("start_time_unix_secs")
    if isinstance(start, bool) or not isinstance(start, int | float) or not math.isfinite(start):
        raise TransientProviderError(f"{where} ({conversation_id}) has no numeric start_time_unix_secs")
    try:
        started_at = datetime.fromtimestamp(start, UTC)
    except (OverflowError, OSError, ValueError):
        raise TransientProviderError(f"{where} ({conversation_id}) has an unusable start time {start}") from None
    agent_id, agent_name = item.get("agent_id"), item.get("agent_name")
    return ListedConversation(
        provider_conversation_id=conversation_id,
        started_at=started_at,
        fingerprint=hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest(),
        final=item.get("status") in FINAL_STATUSES,
        provider_agent_id=agent_id if isinstance(agent_id, str) else None,
        agent_name=agent_name if isinstance(agent_name, str) else None,
    )
