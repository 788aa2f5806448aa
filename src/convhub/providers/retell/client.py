"""Retell's call API as a :class:`convhub.providers.base.Provider`.

Retell lists calls with ``POST /v3/list-calls`` (a JSON body: ``filter_criteria``,
``sort_order``, ``limit`` up to 1000, ``pagination_key``), newest first when asked
``descending``. Its list items carry everything about a call except the
transcript, so a call that was not already filed unchanged needs one
``GET /v2/get-call/{call_id}``. The recording is a plain URL on the call
(``recording_url``), usually on Retell's CDN rather than the API host.

All HTTP goes through :class:`~convhub.providers.http.VendorHTTP` (retries,
the concurrency bound, error translation); this module only knows the shapes.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import orjson

from convhub.conversations.schemas import ConversationIn
from convhub.providers.base import ListedConversation, ListPage, PermanentProviderError
from convhub.providers.http import VendorHTTP, check_page_size
from convhub.providers.retell.mapper import conversation_from_retell, is_final

__all__ = ["DEFAULT_BASE_URL", "VENDOR_MAX_PAGE", "RetellProvider"]

DEFAULT_BASE_URL = "https://api.retellai.com"
VENDOR_MAX_PAGE = 1000
"""The largest ``limit`` ``/v3/list-calls`` accepts."""

# URL fields may be re-signed on every read (``opt_in_signed_url``); only their presence is part of an item's state.
_URL_SUFFIX = "_url"
# A call Retell has only registered or could not connect has no transcript to fetch: its list item is complete.
_COMPLETE_IN_LIST = frozenset({"registered", "not_connected"})


class RetellProvider:
    """One Retell account (an API key), over ``base_url`` (Retell's API unless a simulator's)."""

    name: ClassVar[str] = "retell"

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
            {"Authorization": f"Bearer {api_key}"},
            max_concurrency=max_concurrency,
            max_attempts=max_attempts,
            timeout=timeout,
            transport=transport,
        )

    async def list_page(self, cursor: str | None, *, since: datetime | None = None) -> ListPage:
        """One page newest first; the cursor is Retell's own ``pagination_key`` (a server-side cursor)."""
        body: dict[str, Any] = {"limit": self.page_size, "sort_order": "descending"}
        if since is not None:
            since_ms = int(since.timestamp() * 1000)
            body["filter_criteria"] = {"start_timestamp": {"op": "ge", "type": "number", "value": since_ms}}
        if cursor is not None:
            body["pagination_key"] = cursor
        answer = await self.http.request_json("POST", "/v3/list-calls", "POST list-calls", json=body)
        if not isinstance(answer, Mapping) or not isinstance(answer.get("items"), list):
            raise PermanentProviderError("POST list-calls: the answer has no list of items")
        items = [listed for item in answer["items"] if (listed := _listed(item)) is not None]
        next_key = answer.get("pagination_key")
        if not answer.get("has_more"):
            return ListPage(items=items, next_cursor=None)
        if not isinstance(next_key, str) or not next_key:
            raise PermanentProviderError("POST list-calls: has_more without a pagination_key; cannot go on")
        return ListPage(items=items, next_cursor=next_key)

    async def get_conversation(self, provider_conversation_id: str) -> dict[str, Any]:
        path = f"/v2/get-call/{quote(provider_conversation_id, safe='')}"
        answer = await self.http.request_json("GET", path, f"GET call {provider_conversation_id}")
        if not isinstance(answer, dict):
            raise PermanentProviderError(f"GET call {provider_conversation_id}: the answer is not a JSON object")
        return answer

    def map_conversation(self, detail: Mapping[str, Any]) -> ConversationIn:
        return conversation_from_retell(detail)

    def stream_audio(self, provider_conversation_id: str, detail: Mapping[str, Any]) -> AsyncIterator[bytes] | None:
        url = detail.get("recording_url")
        if not isinstance(url, str) or not url.strip():
            return None
        # Usually on Retell's CDN, which gets no API key; a relative URL (some simulated webhook bodies) is the
        # API host's own.
        return self.http.stream_bytes(url, f"GET recording of call {provider_conversation_id}")

    async def delete_conversation(self, provider_conversation_id: str) -> None:
        path = f"/v2/delete-call/{quote(provider_conversation_id, safe='')}"
        await self.http.request_empty("DELETE", path, f"DELETE call {provider_conversation_id}")

    async def check(self) -> None:
        await self.http.request_json("POST", "/v3/list-calls", "POST list-calls", json={"limit": 1})

    async def aclose(self) -> None:
        await self.http.aclose()


def fingerprint(item: Mapping[str, Any]) -> str:
    """A stable hash of a list item: it changes when the call's state does, not when its URLs are re-signed."""
    stable = {k: (bool(v) if k.endswith(_URL_SUFFIX) else v) for k, v in item.items()}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _listed(item: Any) -> ListedConversation | None:
    """The engine's view of a list item; None for a call that has not started (nothing to file yet)."""
    if not isinstance(item, Mapping):
        raise PermanentProviderError("POST list-calls: an item is not a JSON object")
    call_id, start_ms = item.get("call_id"), item.get("start_timestamp")
    if not isinstance(call_id, str) or not call_id:
        raise PermanentProviderError("POST list-calls: an item has no call_id")
    if start_ms is None:
        return None
    if isinstance(start_ms, bool) or not isinstance(start_ms, int | float):
        raise PermanentProviderError(f"POST list-calls: call {call_id} has a start_timestamp that is not a number")
    agent_id, agent_name = item.get("agent_id"), item.get("agent_name")
    return ListedConversation(
        provider_conversation_id=call_id,
        started_at=datetime.fromtimestamp(start_ms / 1000, UTC),
        fingerprint=fingerprint(item),
        final=is_final(item),
        provider_agent_id=agent_id if isinstance(agent_id, str) else None,
        agent_name=agent_name if isinstance(agent_name, str) else None,
        detail=dict(item) if item.get("call_status") in _COMPLETE_IN_LIST else None,
    )
