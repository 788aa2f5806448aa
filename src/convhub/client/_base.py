"""Transport shared by ``Client`` and ``AsyncClient``: configuration, auth, retries, error mapping.

The retry policy (what is retried, how long to wait) is decided once, in
``BaseClient``; the sync and async subclasses only differ in how they send and
how they sleep.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib.metadata
import math
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, Self, TypeVar

import httpx

from ._errors import APIConnectionError, APIError, APITimeoutError, status_error_from_response

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
try:
    USER_AGENT = f"convhub-python/{importlib.metadata.version('convhub')}"
except importlib.metadata.PackageNotFoundError:  # running from a source tree
    USER_AGENT = "convhub-python"

Params = Sequence[tuple[str, str]]
# Multipart uploads: (field name, (file name, content, content type)); bytes, so a retry can send them again.
Files = Sequence[tuple[str, tuple[str, bytes, str]]]
_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)


class BaseClient(Generic[_HttpT]):
    # Backoff: initial_retry_delay * 2**n, capped, minus up to 25% jitter.
    # Instance attributes may be lowered (e.g. in tests) to make retries fast.
    initial_retry_delay: float = 0.5
    max_retry_delay: float = 8.0
    # A Retry-After longer than this is clipped: we never hang a caller for minutes.
    max_retry_after: float = 60.0

    _http: _HttpT

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | httpx.URL | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("CONVHUB_API_KEY")
        if not api_key:
            raise APIError("No API key: pass api_key=... or set the CONVHUB_API_KEY environment variable.")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.api_key = api_key
        self.base_url = str(base_url or os.environ.get("CONVHUB_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # ------------------------------------------------------------------ request

    def _build_request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: object | None = None,
        headers: Mapping[str, str] | None = None,
        files: Files | None = None,
    ) -> httpx.Request:
        return self._http.build_request(
            method,
            self.base_url + path,
            params=list(params) if params else None,
            json=json,
            files=list(files) if files else None,
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                **(headers or {}),
            },
            timeout=self.timeout,
        )

    # ------------------------------------------------------------------ retries

    def _retry_delay(self, retries_taken: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before the next attempt, or None when this outcome must not be retried.

        ``response`` is None when the attempt failed without one (connection error, timeout).
        """
        if retries_taken >= self.max_retries:
            return None
        if response is not None and not _is_retryable(response.status_code):
            return None
        if response is not None:
            retry_after = _parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:
                return min(retry_after, self.max_retry_after)
        backoff = min(self.initial_retry_delay * 2.0**retries_taken, self.max_retry_delay)
        return backoff * (1 - 0.25 * random.random())


def _is_retryable(status_code: int) -> bool:
    return status_code in (408, 409, 429) or status_code >= 500


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request)
    return APIConnectionError(f"Connection error: {exc}", request=request)


class SyncAPIClient(BaseClient[httpx.Client]):
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | httpx.URL | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        http_client: httpx.Client | None,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client()
        self._sleep: Callable[[float], None] = time.sleep

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: object | None = None,
        headers: Mapping[str, str] | None = None,
        files: Files | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise an ``APIError``.

        With ``stream=True`` the body is left unread and the caller must close the response; only
        getting that response is retried, never a stream that breaks later.
        """
        request = self._build_request(method, path, params=params, json=json, headers=headers, files=files)
        retries_taken = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self._retry_delay(retries_taken, None)
                if delay is None:
                    raise _connection_error(exc, request) from exc
            else:
                if response.is_success:
                    return response
                response.read()
                response.close()
                delay = self._retry_delay(retries_taken, response)
                if delay is None:
                    raise status_error_from_response(response)
            self._sleep(delay)
            retries_taken += 1

    def close(self) -> None:
        """Close the connection pool (only if the client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncAPIClient(BaseClient[httpx.AsyncClient]):
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | httpx.URL | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        http_client: httpx.AsyncClient | None,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.AsyncClient()
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: object | None = None,
        headers: Mapping[str, str] | None = None,
        files: Files | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise an ``APIError``.

        With ``stream=True`` the body is left unread and the caller must close the response; only
        getting that response is retried, never a stream that breaks later.
        """
        request = self._build_request(method, path, params=params, json=json, headers=headers, files=files)
        retries_taken = 0
        while True:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self._retry_delay(retries_taken, None)
                if delay is None:
                    raise _connection_error(exc, request) from exc
            else:
                if response.is_success:
                    return response
                await response.aread()
                await response.aclose()
                delay = self._retry_delay(retries_taken, response)
                if delay is None:
                    raise status_error_from_response(response)
            await self._sleep(delay)
            retries_taken += 1

    async def close(self) -> None:
        """Close the connection pool (only if the client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def query(**values: Any) -> list[tuple[str, str]]:
    """Encode keyword values as query pairs: None dropped, bools lowercased, datetimes ISO 8601,
    mappings repeated as ``key=value`` pairs under the same name."""
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            pairs.extend((name, f"{k}={_scalar(v)}") for k, v in value.items())
        else:
            pairs.append((name, _scalar(value)))
    return pairs


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
