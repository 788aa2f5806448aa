"""One HTTP transport for every vendor client: a concurrency bound, retries, error translation.

Vendors cap concurrent requests (ElevenLabs' top plan: 15) and answer 429 with
``Retry-After`` beyond that. :class:`AdaptiveLimiter` keeps at most ``limit``
requests in flight, halves its window on a 429 and grows it back one slot per
success (AIMD), so a sync runs at the vendor's limit without hammering it.
:class:`VendorHTTP` retries 429, 5xx, timeouts, dropped connections and bodies
that are not the JSON promised, with exponential backoff and full jitter
(``Retry-After`` honoured), and translates what is left into
:mod:`convhub.providers.base` errors. Vendor clients never see httpx exceptions.

The account's credentials go only to the API's own origin: a recording on
another host (a CDN, a customer's bucket) is fetched by a twin of the client
that carries no headers. What every vendor client's constructor checks
(:func:`check_page_size`) is here too, so the three say it alike.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx
import orjson

from convhub.providers.base import (
    AuthenticationFailed,
    ConversationGone,
    PermanentProviderError,
    ProviderError,
    RateLimited,
    TransientProviderError,
)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_CONNECT_SECS = 10.0  # a vendor that takes longer to accept a connection is down, however long reads may take


def check_page_size(page_size: int, vendor_max: int) -> int:
    """``page_size`` when the vendor's list endpoint takes it (1 to ``vendor_max``); else ``ValueError``."""
    if not 1 <= page_size <= vendor_max:
        raise ValueError(f"page_size must be from 1 to {vendor_max}")
    return page_size


class AdaptiveLimiter:
    """At most ``window`` calls at once; the window shrinks on rate limits and regrows on success."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = float(limit)
        self.in_flight = 0
        self._changed = asyncio.Condition()
        self._paused_until = 0.0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._changed:
            while self.in_flight >= int(self.window) or time.monotonic() < self._paused_until:
                pause = self._paused_until - time.monotonic()
                if pause > 0:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), timeout=pause)
                else:
                    await self._changed.wait()
            self.in_flight += 1
        try:
            yield
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    async def succeeded(self) -> None:
        if self.window < self.limit:
            async with self._changed:
                self.window = min(self.limit, self.window + 1.0 / max(1.0, self.window))
                self._changed.notify_all()

    async def rate_limited(self, retry_after: float | None) -> None:
        async with self._changed:
            self.window = max(1.0, self.window / 2)
            if retry_after:
                self._paused_until = max(self._paused_until, time.monotonic() + retry_after)
            self._changed.notify_all()


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def translate_status(response: httpx.Response, what: str) -> ProviderError:
    """The provider error for a non-2xx answer to ``what`` (e.g. ``"GET conversation c1"``)."""
    status = response.status_code
    snippet = response.text[:200].strip()
    message = f"{what}: HTTP {status}" + (f" — {snippet}" if snippet else "")
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimited(message, status_code=status, retry_after=retry_after)
    if status in (408, 425) or status >= 500:
        return TransientProviderError(message, status_code=status)
    if status in (401, 403):
        return AuthenticationFailed(f"{what}: the provider rejected the API key (HTTP {status})", status_code=status)
    if status == 404:
        return ConversationGone(message, status_code=status)
    return PermanentProviderError(message, status_code=status)


class VendorHTTP:
    """An httpx client bound to one vendor account, shared by all of a sync's concurrent calls."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        max_concurrency: int = 15,
        max_attempts: int = 6,
        backoff_base: float = 0.25,
        backoff_cap: float = 20.0,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout, connect=min(timeout, MAX_CONNECT_SECS))
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=dict(headers),
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_concurrency + 5, max_keepalive_connections=max_concurrency + 5),
        )
        self.limiter = AdaptiveLimiter(max_concurrency)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self.requests = 0  # every HTTP request sent, retries included (benchmarks read it)
        self._twin_settings: dict[str, Any] = {
            "max_concurrency": max_concurrency, "max_attempts": max_attempts, "backoff_base": backoff_base,
            "backoff_cap": backoff_cap, "timeout": timeout, "transport": transport, "sleep": sleep,
        }
        self._keyless: VendorHTTP | None = None

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._keyless is not None:
            await self._keyless.aclose()

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the API's own origin (a relative URL is): the only place the credentials go."""
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL:
            return False
        if target.is_relative_url:
            return True  # resolved against the base URL
        base = self.client.base_url
        return (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)

    def _for(self, url: str) -> VendorHTTP:
        """This client for the API's own URLs; for any other host, a twin without headers (made on first use),
        with a concurrency bound of its own so a slow CDN does not hold back the API."""
        if self.same_origin(url):
            return self
        if self._keyless is None:
            self._keyless = VendorHTTP(str(self.client.base_url), {}, **self._twin_settings)
        return self._keyless

    def _backoff(self, attempt: int, error: ProviderError) -> float:
        if error.retry_after is not None:
            return error.retry_after + random.uniform(0, self.backoff_base)
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))

    async def _retrying(self, what: str, attempt_once: Callable[[], Any]) -> Any:
        for attempt in range(self.max_attempts):
            try:
                async with self.limiter.slot():
                    self.requests += 1
                    result = await attempt_once()
                await self.limiter.succeeded()
                return result
            except ProviderError as error:
                if isinstance(error, RateLimited):
                    await self.limiter.rate_limited(error.retry_after)
                if not error.retryable or attempt == self.max_attempts - 1:
                    raise
                await self._sleep(self._backoff(attempt, error))
        raise AssertionError("unreachable")  # pragma: no cover

    async def request_json(
        self, method: str, url: str, what: str, *, params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Send with retries; the decoded JSON body of a 2xx answer."""

        async def once() -> Any:
            try:
                response = await self.client.request(method, url, params=params, json=json)
            except httpx.TimeoutException as exc:
                raise TransientProviderError(f"{what}: timed out ({exc.__class__.__name__})") from exc
            except httpx.TransportError as exc:
                raise TransientProviderError(f"{what}: connection failed ({exc.__class__.__name__})") from exc
            if response.status_code >= 300:
                raise translate_status(response, what)
            if not response.content:
                return None
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise TransientProviderError(f"{what}: the body is not valid JSON ({exc})") from exc

        return await self._retrying(what, once)

    async def request_empty(self, method: str, url: str, what: str) -> None:
        """Send with retries, ignoring the body (DELETE)."""

        async def once() -> None:
            try:
                response = await self.client.request(method, url)
            except httpx.TimeoutException as exc:
                raise TransientProviderError(f"{what}: timed out ({exc.__class__.__name__})") from exc
            except httpx.TransportError as exc:
                raise TransientProviderError(f"{what}: connection failed ({exc.__class__.__name__})") from exc
            if response.status_code >= 300:
                raise translate_status(response, what)

        await self._retrying(what, once)

    def stream_bytes(self, url: str, what: str, *, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """GET ``url`` (relative or absolute) as chunks, holding a concurrency slot while it streams.

        The credentials are sent only to the API's own origin (:meth:`same_origin`). Retries happen only before
        the first chunk is handed out: a failure after that raises :class:`TransientProviderError` and the caller
        starts over.
        """
        return self._for(url)._stream(url, what, chunk_size)

    async def _stream(self, url: str, what: str, chunk_size: int) -> AsyncIterator[bytes]:
        yielded = False
        for attempt in range(self.max_attempts):
            try:
                async with self.limiter.slot():
                    self.requests += 1
                    try:
                        async with self.client.stream("GET", url) as response:
                            if response.status_code >= 300:
                                await response.aread()
                                raise translate_status(response, what)
                            await self.limiter.succeeded()
                            async for chunk in response.aiter_bytes(chunk_size):
                                yielded = True
                                yield chunk
                            return
                    except httpx.TimeoutException as exc:
                        raise TransientProviderError(f"{what}: timed out ({exc.__class__.__name__})") from exc
                    except httpx.TransportError as exc:
                        raise TransientProviderError(f"{what}: connection failed ({exc.__class__.__name__})") from exc
            except ProviderError as error:
                if isinstance(error, RateLimited):
                    await self.limiter.rate_limited(error.retry_after)
                if yielded or not error.retryable or attempt == self.max_attempts - 1:
                    raise
                await self._sleep(self._backoff(attempt, error))
