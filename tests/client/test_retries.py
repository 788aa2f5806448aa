"""Retries: what is retried, how long the client waits, and what surfaces when retries run out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from convhub.client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    BadRequestError,
    Client,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)

from .conftest import Recorder, Sleeps, conversation_json, error_response


def ok() -> httpx.Response:
    return httpx.Response(200, json=conversation_json("conv_1"))


def test_429_waits_for_retry_after_then_succeeds(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(429, "slow down", headers={"Retry-After": "3"}), ok())

    conversation = make_client(recorder).conversations.get("conv_1")

    assert conversation.id == "conv_1"
    assert len(recorder.requests) == 2
    assert sleeps == [3.0]


def test_retry_after_as_an_http_date_is_honoured(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    recorder = Recorder(error_response(429, headers={"Retry-After": when}), ok())

    make_client(recorder).conversations.get("conv_1")

    assert len(sleeps) == 1
    assert 8.0 <= sleeps[0] <= 10.0


@pytest.mark.parametrize("value", ["soon", "nan", "-5"])
def test_an_unusable_retry_after_falls_back_to_backoff(
    make_client: Callable[..., Client], sleeps: Sleeps, value: str
) -> None:
    recorder = Recorder(error_response(429, headers={"Retry-After": value}), ok())

    make_client(recorder).conversations.get("conv_1")

    assert len(sleeps) == 1
    assert 0.375 <= sleeps[0] <= 0.5


def test_a_huge_retry_after_is_capped(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(429, headers={"Retry-After": "3600"}), ok())

    make_client(recorder).conversations.get("conv_1")

    assert sleeps == [60.0]


def test_503_is_retried_with_backoff_then_succeeds(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(503), error_response(503), ok())

    conversation = make_client(recorder).conversations.get("conv_1")

    assert conversation.id == "conv_1"
    assert len(recorder.requests) == 3
    # 0.5s then 1s, each shortened by up to 25% of jitter.
    assert 0.375 <= sleeps[0] <= 0.5
    assert 0.75 <= sleeps[1] <= 1.0


@pytest.mark.parametrize("status", [408, 409, 500, 502, 504])
def test_other_transient_statuses_are_retried(make_client: Callable[..., Client], status: int) -> None:
    recorder = Recorder(error_response(status), ok())

    make_client(recorder).conversations.get("conv_1")

    assert len(recorder.requests) == 2


def test_backoff_is_capped(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(*[error_response(500)] * 7)
    client = make_client(recorder, max_retries=6)

    with pytest.raises(InternalServerError):
        client.conversations.get("conv_1")

    assert len(sleeps) == 6
    assert 6.0 <= sleeps[-1] <= 8.0  # 0.5 * 2**5 = 16, capped at 8


def test_exhausted_retries_raise_the_last_error(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(429), error_response(429), error_response(429, "still busy"))

    with pytest.raises(RateLimitError, match="still busy"):
        make_client(recorder, max_retries=2).conversations.get("conv_1")

    assert len(recorder.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(make_client: Callable[..., Client], sleeps: Sleeps, status: int) -> None:
    recorder = Recorder(error_response(status))

    with pytest.raises(APIStatusError) as caught:
        make_client(recorder).conversations.get("conv_1")

    assert caught.value.status_code == status
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_404_is_not_retried(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(404, "Conversation not found"))

    with pytest.raises(NotFoundError):
        make_client(recorder).conversations.get("conv_404")

    assert len(recorder.requests) == 1
    assert sleeps == []


def test_max_retries_zero_disables_retries(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(503))

    with pytest.raises(InternalServerError):
        make_client(recorder, max_retries=0).conversations.get("conv_1")

    assert len(recorder.requests) == 1
    assert sleeps == []


def test_connection_errors_are_retried_then_raised(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(*[httpx.ConnectError("connection refused")] * 3)

    with pytest.raises(APIConnectionError) as caught:
        make_client(recorder, max_retries=2).conversations.get("conv_1")

    assert type(caught.value) is APIConnectionError
    assert "connection refused" in caught.value.message
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.request is not None
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2


def test_a_connection_error_then_success_recovers(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.ConnectError("reset"), ok())

    assert make_client(recorder).conversations.get("conv_1").id == "conv_1"


def test_timeouts_raise_api_timeout_error(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(*[httpx.ReadTimeout("timed out")] * 2)

    with pytest.raises(APITimeoutError) as caught:
        make_client(recorder, max_retries=1).conversations.get("conv_1")

    assert isinstance(caught.value, APIConnectionError)
    assert len(recorder.requests) == 2
    assert len(sleeps) == 1


def test_the_configured_timeout_is_applied_to_requests(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(ok())

    make_client(recorder, timeout=4.5).conversations.get("conv_1")

    assert recorder.requests[0].extensions["timeout"] == httpx.Timeout(4.5).as_dict()


def test_the_backoff_base_is_configurable(make_client: Callable[..., Client], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(503), ok())
    client = make_client(recorder)
    client.initial_retry_delay = 0.01

    client.conversations.get("conv_1")

    assert 0.0075 <= sleeps[0] <= 0.01


def test_an_error_while_streaming_audio_is_retried(make_client: Callable[..., Client], tmp_path: Path) -> None:
    recorder = Recorder(error_response(503), httpx.Response(200, content=b"ID3 mp3 bytes"))

    path = make_client(recorder).conversations.download_audio("conv_1", tmp_path / "a.mp3")

    assert path.read_bytes() == b"ID3 mp3 bytes"
    assert len(recorder.requests) == 2


# ---------------------------------------------------------------- async mirror


async def test_async_429_then_success(make_async_client: Callable[..., AsyncClient], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(429, headers={"Retry-After": "2"}), ok())

    conversation = await make_async_client(recorder).conversations.get("conv_1")

    assert conversation.id == "conv_1"
    assert sleeps == [2.0]


async def test_async_503_then_success(make_async_client: Callable[..., AsyncClient], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(503), ok())

    await make_async_client(recorder).conversations.get("conv_1")

    assert len(recorder.requests) == 2
    assert 0.375 <= sleeps[0] <= 0.5


async def test_async_404_is_not_retried(make_async_client: Callable[..., AsyncClient], sleeps: Sleeps) -> None:
    recorder = Recorder(error_response(404))

    with pytest.raises(NotFoundError):
        await make_async_client(recorder).conversations.get("conv_1")

    assert len(recorder.requests) == 1
    assert sleeps == []


async def test_async_400_is_not_retried(make_async_client: Callable[..., AsyncClient]) -> None:
    recorder = Recorder(error_response(400))

    with pytest.raises(BadRequestError):
        await make_async_client(recorder).conversations.get("conv_1")

    assert len(recorder.requests) == 1


async def test_async_connection_error_after_retries(
    make_async_client: Callable[..., AsyncClient], sleeps: Sleeps
) -> None:
    recorder = Recorder(*[httpx.ConnectError("refused")] * 3)

    with pytest.raises(APIConnectionError):
        await make_async_client(recorder).conversations.get("conv_1")

    assert len(recorder.requests) == 3
    assert len(sleeps) == 2


async def test_async_timeout(make_async_client: Callable[..., AsyncClient]) -> None:
    recorder = Recorder(*[httpx.ConnectTimeout("timed out")] * 3)

    with pytest.raises(APITimeoutError):
        await make_async_client(recorder).conversations.get("conv_1")

    assert len(recorder.requests) == 3
