"""Client configuration: credentials, base URL, headers, lifecycle."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from convhub.client import APIError, AsyncClient, Client

from .conftest import Recorder, page_json


def test_api_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVHUB_API_KEY", "sk_env")
    monkeypatch.setenv("CONVHUB_BASE_URL", "http://env.example:9000/")
    recorder = Recorder(httpx.Response(200, json=page_json([])))
    with httpx.Client(transport=httpx.MockTransport(recorder)) as http:
        Client(http_client=http).conversations.list()

    (request,) = recorder.requests
    assert request.headers["Authorization"] == "Bearer sk_env"
    assert str(request.url) == "http://env.example:9000/v1/conversations"


def test_explicit_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVHUB_API_KEY", "sk_env")
    monkeypatch.setenv("CONVHUB_BASE_URL", "http://env.example")
    client = Client(api_key="sk_arg", base_url="http://arg.example/prefix")
    try:
        assert client.api_key == "sk_arg"
        assert client.base_url == "http://arg.example/prefix"
    finally:
        client.close()


def test_base_url_defaults_to_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVHUB_BASE_URL", raising=False)
    with Client(api_key="sk") as client:
        assert client.base_url == "http://127.0.0.1:8000"


def test_missing_api_key_fails_early_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVHUB_API_KEY", raising=False)
    with pytest.raises(APIError, match="CONVHUB_API_KEY"):
        Client()
    with pytest.raises(APIError, match="CONVHUB_API_KEY"):
        AsyncClient()


def test_requests_carry_auth_json_accept_and_user_agent(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json=page_json([])))
    make_client(recorder, api_key="sk_live").conversations.list()

    headers = recorder.requests[0].headers
    assert headers["Authorization"] == "Bearer sk_live"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("convhub-python/")


def test_context_manager_closes_the_pool_it_created() -> None:
    with Client(api_key="sk") as client:
        http = client._http
        assert not http.is_closed
    assert http.is_closed


def test_a_caller_supplied_http_client_is_left_open() -> None:
    with httpx.Client() as http:
        with Client(api_key="sk", http_client=http):
            pass
        assert not http.is_closed


async def test_async_context_manager_closes_the_pool_it_created() -> None:
    async with AsyncClient(api_key="sk") as client:
        http = client._http
        assert not http.is_closed
    assert http.is_closed


def test_negative_max_retries_is_rejected() -> None:
    with pytest.raises(ValueError):
        Client(api_key="sk", max_retries=-1)
