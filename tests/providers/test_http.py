"""The shared vendor transport: retries, Retry-After, error translation, the adaptive concurrency bound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from convhub.providers.base import AuthenticationFailed, ConversationGone, RateLimited, TransientProviderError
from convhub.providers.http import AdaptiveLimiter, VendorHTTP, check_page_size, parse_retry_after


def transport(answers: list[httpx.Response | Exception], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle)


def vendor(answers: list[httpx.Response | Exception], seen: list[httpx.Request],
           sleeps: list[float] | None = None, **kwargs: object) -> VendorHTTP:
    recorded = sleeps if sleeps is not None else []

    async def sleep(secs: float) -> None:
        recorded.append(secs)

    return VendorHTTP("https://vendor.test", {"xi-api-key": "k"}, transport=transport(answers, seen),
                      sleep=sleep, **kwargs)  # type: ignore[arg-type]


async def test_retries_server_errors_timeouts_and_bad_json_then_succeeds() -> None:
    seen: list[httpx.Request] = []
    http = vendor([httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(200, content=b'{"trunc'),
                   httpx.Response(200, json={"ok": True})], seen)
    assert await http.request_json("GET", "/x", "GET x") == {"ok": True}
    assert len(seen) == 4 and http.requests == 4
    assert seen[0].headers["xi-api-key"] == "k"


async def test_honours_retry_after_on_429() -> None:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []
    http = vendor([httpx.Response(429, headers={"retry-after": "3"}), httpx.Response(200, json=[1])], seen, sleeps)
    assert await http.request_json("GET", "/x", "GET x") == [1]
    assert sleeps and sleeps[0] >= 3


async def test_gives_up_after_max_attempts_with_a_retryable_error() -> None:
    http = vendor([httpx.Response(500)] * 3, [], max_attempts=3)
    with pytest.raises(TransientProviderError, match="HTTP 500"):
        await http.request_json("GET", "/x", "GET x")


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationFailed), (403, AuthenticationFailed), (404, ConversationGone)]
)
async def test_client_errors_are_not_retried(status: int, error: type[Exception]) -> None:
    seen: list[httpx.Request] = []
    http = vendor([httpx.Response(status, json={"detail": "no"})], seen)
    with pytest.raises(error):
        await http.request_json("GET", "/x", "GET x")
    assert len(seen) == 1


async def test_stream_retries_before_the_first_chunk_only() -> None:
    seen: list[httpx.Request] = []
    http = vendor([httpx.Response(502), httpx.Response(200, content=b"a" * 200_000)], seen)
    body = b"".join([chunk async for chunk in http.stream_bytes("/audio", "audio")])
    assert body == b"a" * 200_000 and len(seen) == 2


def test_parse_retry_after() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: go now


async def test_limiter_bounds_concurrency_and_halves_on_rate_limit() -> None:
    limiter = AdaptiveLimiter(4)
    peak = 0

    async def work() -> None:
        nonlocal peak
        async with limiter.slot():
            peak = max(peak, limiter.in_flight)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(work() for _ in range(20)))
    assert peak == 4
    await limiter.rate_limited(None)
    assert limiter.window == 2
    for _ in range(10):
        await limiter.succeeded()
    assert limiter.window == 4  # grows back, never past the limit


def test_rate_limited_is_retryable() -> None:
    check: Callable[[type[Exception]], bool] = lambda e: bool(getattr(e, "retryable", False))  # noqa: E731
    assert check(RateLimited) and check(TransientProviderError)
    assert not check(AuthenticationFailed)


async def test_the_credentials_go_only_to_the_apis_own_origin() -> None:
    seen: list[httpx.Request] = []
    urls = ["/audio/1", "https://vendor.test/audio/2", "https://cdn.vendor.test/3.mp3", "http://vendor.test/4",
            "https://vendor.test:8443/5", "https://cdn.vendor.test/6.mp3"]
    http = vendor([httpx.Response(200, content=b"ID3")] * len(urls), seen)
    try:
        for url in urls:
            assert b"".join([chunk async for chunk in http.stream_bytes(url, "GET audio")]) == b"ID3"
    finally:
        await http.aclose()

    assert [(str(r.url), r.headers.get("xi-api-key")) for r in seen] == [
        ("https://vendor.test/audio/1", "k"),
        ("https://vendor.test/audio/2", "k"),
        ("https://cdn.vendor.test/3.mp3", None),
        ("http://vendor.test/4", None),  # another scheme is another origin
        ("https://vendor.test:8443/5", None),  # and so is another port
        ("https://cdn.vendor.test/6.mp3", None),
    ]
    assert http.client.is_closed and http._keyless is not None and http._keyless.client.is_closed


async def test_a_timeout_in_seconds_bounds_connecting_to_ten() -> None:
    slow, quick = VendorHTTP("https://vendor.test", {}, timeout=30.0), VendorHTTP("https://vendor.test", {}, timeout=2)
    try:
        assert (slow.client.timeout.read, slow.client.timeout.connect) == (30.0, 10.0)
        assert (quick.client.timeout.read, quick.client.timeout.connect) == (2, 2)
    finally:
        await slow.aclose()
        await quick.aclose()


def test_a_page_size_the_vendor_refuses_is_refused_at_once() -> None:
    assert check_page_size(1, 100) == 1 and check_page_size(100, 100) == 100
    for wrong in (0, 101):
        with pytest.raises(ValueError, match=r"^page_size must be from 1 to 100$"):
            check_page_size(wrong, 100)
