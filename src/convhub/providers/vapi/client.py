"""The Vapi account behind a provider connection: ``/call`` list, get, delete and recordings.

``GET /call`` has no cursor. It answers a JSON array of whole Call objects,
newest ``createdAt`` first, up to ``limit`` (at most :data:`VENDOR_MAX_PAGE`),
filtered by ``createdAt{Gt,Ge,Lt,Le}``. Paging therefore moves a window: the
next page asks for ``createdAtLe`` = the oldest ``createdAt`` seen so far, and
drops the calls of that boundary instant it has already returned (their ids
ride in the cursor). ``Le`` rather than ``Lt`` matters: calls created in the
same millisecond would otherwise be skipped whenever a page ends between them.

A page made only of boundary-instant calls cannot move the window, so the next
request asks for a larger page (doubling up to :data:`VENDOR_MAX_PAGE`) until
it reaches past that instant. Only if more than :data:`VENDOR_MAX_PAGE` calls
share one millisecond does listing move on with ``createdAtLt`` and miss the
rest of them: the API offers no way to reach them.

The cursor is that window as compact JSON in URL-safe base64, so a sync
resumes from its checkpoint after a restart.

A listed call's ``started_at`` is its ``createdAt`` (the key ``since`` filters
on, so a watermark taken from it means the same thing to the API). It is final
once it has ended *and* its analysis has landed: Vapi adds ``analysis`` a few
seconds after the end, and a call marked final before that would keep its
unanalysed version.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import orjson

from convhub.conversations.schemas import ConversationIn
from convhub.providers.base import (
    ListedConversation,
    ListPage,
    MappingError,
    PermanentProviderError,
)
from convhub.providers.http import VendorHTTP, check_page_size
from convhub.providers.vapi.mapper import (
    call_agent,
    call_created_at,
    conversation_from_vapi,
    parse_timestamp,
    recording_url,
)

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_PAGE_SIZE", "VENDOR_MAX_PAGE", "VapiProvider"]

DEFAULT_BASE_URL = "https://api.vapi.ai"
VENDOR_MAX_PAGE = 1000
"""The largest ``limit`` ``GET /call`` accepts."""
DEFAULT_PAGE_SIZE = 100
"""Vapi's own default ``limit``: whole Call objects with transcripts are large."""


class VapiProvider:
    """A Vapi account, reached with its private API key (``Authorization: Bearer``)."""

    name: ClassVar[str] = "vapi"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        max_concurrency: int = 15,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 6,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.page_size = check_page_size(page_size, VENDOR_MAX_PAGE)
        self.http = VendorHTTP(
            base_url or DEFAULT_BASE_URL,
            {"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            max_concurrency=max_concurrency,
            max_attempts=max_attempts,
            timeout=timeout,
            transport=transport,
        )

    # -- listing --------------------------------------------------------------

    async def list_page(self, cursor: str | None, *, since: datetime | None = None) -> ListPage:
        """One page newest first; ``since`` becomes ``createdAtGe`` (the list's own time key)."""
        window = _Window.decode(cursor) if cursor else _Window(limit=self.page_size)
        params: dict[str, Any] = {"limit": window.limit}
        if window.le is not None:
            params["createdAtLe"] = window.le
        if window.lt is not None:
            params["createdAtLt"] = window.lt
        if since is not None:
            params["createdAtGe"] = _iso(since)
        body = await self.http.request_json("GET", "/call", "GET /call", params=params)
        if not isinstance(body, list):
            raise PermanentProviderError(f"GET /call: expected a JSON array of calls, got {type(body).__name__}")

        calls: list[tuple[datetime, Mapping[str, Any]]] = []
        for i, item in enumerate(body):
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                raise PermanentProviderError(f"GET /call: item {i} is not a call object")
            try:
                calls.append((call_created_at(item), item))
            except MappingError as exc:
                raise PermanentProviderError(f"GET /call: call {item['id']}: {exc}") from exc

        boundary = window.boundary()
        seen = set(window.seen)
        fresh = [(at, item) for at, item in calls if not (at == boundary and item["id"] in seen)]
        items = [_listed(at, item) for at, item in fresh]
        return ListPage(items=items, next_cursor=self._next(window, calls, boundary, seen, bool(fresh)))

    def _next(
        self,
        window: _Window,
        calls: list[tuple[datetime, Mapping[str, Any]]],
        boundary: datetime | None,
        seen: set[str],
        any_fresh: bool,
    ) -> str | None:
        if len(calls) < window.limit:
            return None  # the API had no more than this
        oldest_at, oldest = calls[-1]
        at_oldest = {str(item["id"]) for at, item in calls if at == oldest_at}
        if oldest_at == boundary:
            at_oldest |= seen
        le = str(oldest["createdAt"])
        if calls[0][0] != oldest_at:  # the window moves past at least one instant
            return _Window(le=le, seen=sorted(at_oldest), limit=self.page_size).encode()
        # The whole page shares one instant: only a larger page can reach past it.
        if window.limit < VENDOR_MAX_PAGE:
            return _Window(le=le, seen=sorted(at_oldest), limit=min(VENDOR_MAX_PAGE, window.limit * 2)).encode()
        if any_fresh:
            return _Window(le=le, seen=sorted(at_oldest), limit=VENDOR_MAX_PAGE).encode()
        # More than VENDOR_MAX_PAGE calls in one millisecond: the rest of them cannot be reached.
        return _Window(lt=le, limit=self.page_size).encode()

    # -- one call -------------------------------------------------------------

    async def get_conversation(self, provider_conversation_id: str) -> dict[str, Any]:
        what = f"GET /call/{provider_conversation_id}"
        body = await self.http.request_json("GET", f"/call/{_segment(provider_conversation_id)}", what)
        if not isinstance(body, dict):
            raise PermanentProviderError(f"{what}: expected a call object, got {type(body).__name__}")
        return body

    def map_conversation(self, detail: Mapping[str, Any]) -> ConversationIn:
        return conversation_from_vapi(detail)

    def stream_audio(self, provider_conversation_id: str, detail: Mapping[str, Any]) -> AsyncIterator[bytes] | None:
        """The recording at ``artifact.recordingUrl``, or None without one.

        Recordings may live on another host (Vapi's storage, or the customer's own bucket), which gets no
        private key: that only ever goes to the API itself.
        """
        url = recording_url(detail)
        if url is None:
            return None
        return self.http.stream_bytes(url, f"GET recording of call {provider_conversation_id}")

    async def delete_conversation(self, provider_conversation_id: str) -> None:
        await self.http.request_empty(
            "DELETE", f"/call/{_segment(provider_conversation_id)}", f"DELETE /call/{provider_conversation_id}"
        )

    async def check(self) -> None:
        body = await self.http.request_json("GET", "/call", "GET /call (connection check)", params={"limit": 1})
        if not isinstance(body, list):
            raise PermanentProviderError(f"GET /call: expected a JSON array of calls, got {type(body).__name__}")

    async def aclose(self) -> None:
        await self.http.aclose()


def _listed(created_at: datetime, item: Mapping[str, Any]) -> ListedConversation:
    try:
        agent = call_agent(item)
    except MappingError:
        agent = None  # the mapper reports it when the call is filed
    ended = item.get("status") == "ended"
    # List items are whole Call objects. Should Vapi ever trim an ended call's artifact
    # from the list, the engine fetches the detail instead of filing it without transcript.
    complete = not ended or "artifact" in item or "messages" in item
    return ListedConversation(
        provider_conversation_id=str(item["id"]),
        started_at=created_at,
        fingerprint=hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest(),
        # Vapi writes the analysis onto the call seconds after it ends (an empty object when
        # there is nothing to analyse); until then the call will still change.
        final=ended and item.get("analysis") is not None,
        provider_agent_id=None if agent is None else agent.provider_agent_id,
        agent_name=None if agent is None else agent.name,
        detail=item if complete else None,
    )


class _Window:
    """Where the next ``GET /call`` starts: ``createdAt`` ≤ ``le`` minus the ``seen`` ids at ``le``, or < ``lt``."""

    __slots__ = ("le", "limit", "lt", "seen")

    def __init__(
        self, *, le: str | None = None, lt: str | None = None, seen: list[str] | None = None, limit: int
    ) -> None:
        self.le = le
        self.lt = lt
        self.seen = seen or []
        self.limit = limit

    def boundary(self) -> datetime | None:
        if self.le is None:
            return None
        try:
            return parse_timestamp(self.le, "cursor.le")
        except MappingError:
            raise PermanentProviderError("vapi: the list cursor is not one this client issued") from None

    def encode(self) -> str:
        state: dict[str, Any] = {"n": self.limit}
        if self.le is not None:
            state["le"] = self.le
            state["seen"] = self.seen
        if self.lt is not None:
            state["lt"] = self.lt
        return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> _Window:
        try:
            state = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            raise PermanentProviderError("vapi: the list cursor is not one this client issued") from None
        if not isinstance(state, dict):
            raise PermanentProviderError("vapi: the list cursor is not one this client issued")
        limit, le, lt, seen = state.get("n"), state.get("le"), state.get("lt"), state.get("seen", [])
        if not (
            isinstance(limit, int) and 1 <= limit <= VENDOR_MAX_PAGE
            and (le is None or isinstance(le, str)) and (lt is None or isinstance(lt, str))
            and isinstance(seen, list) and all(isinstance(s, str) for s in seen)
        ):
            raise PermanentProviderError("vapi: the list cursor is not one this client issued")
        return cls(le=le, lt=lt, seen=seen, limit=limit)


def _iso(moment: datetime) -> str:
    """UTC, millisecond precision, truncated (a ``Ge`` bound then never excludes a call it should keep)."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _segment(value: str) -> str:
    """A path segment: ids are UUIDs, but a stray '/' or '?' must not change the route."""
    return quote(value, safe="")
