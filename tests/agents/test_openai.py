"""The ``openai`` backend against a loopback OpenAI-compatible server: streamed deltas, what is sent, every failure."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from convhub.agents.backends.base import BackendError, ChatMessage
from convhub.agents.backends.openai import OpenAIBackend, _EventParser
from tests.agents.conftest import MODEL_HOST
from tests.agents.fake_openai import FakeOpenAI, FakeOpenAIServer

MESSAGES = [ChatMessage("system", "You are Helper."), ChatMessage("user", "Hi!")]


def backend_for(server: FakeOpenAIServer, **overrides: Any) -> OpenAIBackend:
    options: dict[str, Any] = {"base_url": server.base_url, "model": "llama3.1", **overrides}
    return OpenAIBackend(**options)


async def collect(backend: OpenAIBackend, messages: list[ChatMessage] = MESSAGES) -> list[str]:
    return [delta async for delta in backend.stream_reply(messages)]


async def test_the_reply_streams_as_the_servers_deltas(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    deltas = await collect(backend_for(openai_server))

    assert deltas == ["Hello", " there", ",", " how", " can", " I", " help?"]
    assert "".join(deltas) == "Hello there, how can I help?"


async def test_the_request_carries_model_messages_settings_and_key(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    backend = backend_for(openai_server, base_url=openai_server.base_url + "/", api_key="sk-local-123",
                          temperature=0.2, max_tokens=256)

    await collect(backend)

    [request] = fake_openai.requests
    assert request.path == "/v1/chat/completions"  # the trailing slash of the base URL is not doubled
    assert request.headers["authorization"] == "Bearer sk-local-123"
    assert request.headers["accept"] == "text/event-stream"
    assert request.body == {
        "model": "llama3.1",
        "messages": [{"role": "system", "content": "You are Helper."}, {"role": "user", "content": "Hi!"}],
        "stream": True,
        "temperature": 0.2,
        "max_tokens": 256,
    }


async def test_without_a_key_or_settings_none_are_sent(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    await collect(backend_for(openai_server))

    [request] = fake_openai.requests
    assert "authorization" not in request.headers
    assert "temperature" not in request.body and "max_tokens" not in request.body


async def test_connections_are_reused_across_replies(openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI) -> None:
    backend = backend_for(openai_server)

    await collect(backend)
    await collect(backend)

    first, second = fake_openai.requests
    assert first.client_port is not None
    assert second.client_port == first.client_port  # no new connection (nor TLS handshake) per reply


async def test_a_server_that_ignores_stream_still_gives_the_reply(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.mode = "json"

    assert await collect(backend_for(openai_server)) == ["Hello there, how can I help?"]


async def test_an_injected_client_replaces_the_network(
    fake_openai: FakeOpenAI, model_test_client: httpx.AsyncClient
) -> None:
    backend = OpenAIBackend(base_url=f"http://{MODEL_HOST}/v1", model="m", client=model_test_client)

    assert "".join(await collect(backend)) == "Hello there, how can I help?"
    [request] = fake_openai.requests
    assert (request.path, request.headers["host"]) == ("/v1/chat/completions", MODEL_HOST)
    assert not model_test_client.is_closed  # the caller's client stays the caller's


async def test_a_reply_given_up_on_gives_its_connection_back(
    fake_openai: FakeOpenAI, model_test_client: httpx.AsyncClient
) -> None:
    # The injected client holds one connection: one not given back would leave the next reply waiting for it.
    backend = OpenAIBackend(base_url=f"http://{MODEL_HOST}/v1", model="m", client=model_test_client,
                            timeout=httpx.Timeout(5.0, pool=0.5))
    reply = backend.stream_reply(MESSAGES)
    assert await anext(reply) == "Hello"
    await reply.aclose()  # the client went away mid-reply

    fake_openai.mode = "status_500"
    with pytest.raises(BackendError, match="answered HTTP 500"):
        await collect(backend)

    fake_openai.mode = "stall"  # every delta, then two seconds of nothing
    received: list[str] = []
    all_received = asyncio.Event()

    async def reply_into_received() -> None:
        async for delta in backend.stream_reply(MESSAGES):
            received.append(delta)
            if len(received) == len(fake_openai.deltas):
                all_received.set()

    task = asyncio.create_task(reply_into_received())
    async with asyncio.timeout(5):
        await all_received.wait()
    task.cancel()  # the task replying is cancelled while it waits for more
    with pytest.raises(asyncio.CancelledError):
        await task

    fake_openai.mode = "stream"
    assert "".join(await collect(backend)) == "Hello there, how can I help?"


async def test_a_line_longer_than_64_kib_is_one_delta(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.deltas = ["x" * 200_000, "!"]

    assert await collect(backend_for(openai_server)) == ["x" * 200_000, "!"]


# ---------------------------------------------------------------- failures


async def test_an_error_status_is_a_backend_error_with_the_servers_message(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.mode = "status_500"

    with pytest.raises(BackendError) as excinfo:
        await collect(backend_for(openai_server))

    assert excinfo.value.message == (f"The model endpoint at {openai_server.base_url} answered HTTP 500. "
                                     "It said: The model is overloaded")


async def test_a_refused_key_says_to_check_the_key_and_never_shows_it(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.mode = "status_401"

    with pytest.raises(BackendError) as excinfo:
        await collect(backend_for(openai_server, api_key="sk-wrong-key-999"))

    assert "refused the request (HTTP 401): check the agent's API key" in excinfo.value.message
    assert "sk-wrong-key-999" not in excinfo.value.message


async def test_a_wrong_path_hints_at_the_base_url(openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI) -> None:
    with pytest.raises(BackendError, match=r"HTTP 404\): check the base URL \(it usually ends in /v1\)"):
        await collect(backend_for(openai_server, base_url=f"http://127.0.0.1:{openai_server.port}"))


async def test_a_stream_that_breaks_off_is_an_error_after_the_deltas_so_far(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.mode = "fail_midstream"
    received: list[str] = []

    with pytest.raises(BackendError) as excinfo:
        async for delta in backend_for(openai_server).stream_reply(MESSAGES):
            received.append(delta)

    assert received == ["Hello", " there"]  # the caller can keep what was produced
    assert "broke off the reply" in excinfo.value.message


async def test_a_stream_that_ends_without_finishing_is_an_error(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.mode = "no_finish"

    with pytest.raises(BackendError, match="ended the stream before the reply was complete"):
        await collect(backend_for(openai_server))


async def test_a_malformed_event_is_an_error(openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI) -> None:
    fake_openai.mode = "malformed"

    with pytest.raises(BackendError, match="malformed stream"):
        await collect(backend_for(openai_server))


async def test_an_error_event_in_the_stream_is_an_error_with_its_message(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.mode = "error_event"

    with pytest.raises(BackendError, match=r"failed while replying\. It said: CUDA out of memory"):
        await collect(backend_for(openai_server))


@pytest.mark.parametrize("limits", [0.3, httpx.Timeout(5.0, read=0.3)], ids=["seconds", "read-timeout"])
async def test_a_stalled_stream_times_out(
    openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI, limits: float | httpx.Timeout
) -> None:
    fake_openai.mode = "stall"

    with pytest.raises(BackendError, match="stopped sending the reply"):
        await collect(backend_for(openai_server, timeout=limits))


async def test_an_unreachable_endpoint_is_an_error(fake_openai: FakeOpenAI) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed

    with pytest.raises(BackendError) as excinfo:
        await collect(OpenAIBackend(base_url=f"http://127.0.0.1:{port}/v1", model="m"))

    assert excinfo.value.message.startswith(f"The model endpoint at http://127.0.0.1:{port}/v1 could not be reached: "
                                            "connection failed")


# ---------------------------------------------------------------- the event stream, however it is cut into reads

STREAM = ("data: {\"a\": \"h\u00e9llo \U0001f44b\"}\r\n"  # CRLF line ends, characters of 2 and 4 bytes
          ": a comment\r\n\r\n"
          "event: message\rdata:first line\rdata:  second line\r\r"  # CR line ends; one space is dropped
          "id: 7\ndata: [DONE]\n\n"
          "data: not ended").encode()
EVENTS = ['{"a": "h\u00e9llo \U0001f44b"}', "first line\n second line", "[DONE]", "not ended"]


def parse(reads: list[bytes]) -> list[str]:
    parser = _EventParser()
    events = [event for read in reads for event in parser.feed(read)]
    return events + parser.end()


def test_events_are_the_same_in_one_read_or_byte_by_byte() -> None:
    assert parse([STREAM]) == EVENTS
    assert parse([STREAM[i:i + 1] for i in range(len(STREAM))]) == EVENTS


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_events_are_the_same_wherever_a_read_ends(cut: int) -> None:
    assert parse([STREAM[:cut], STREAM[cut:]]) == EVENTS


def test_a_cr_at_the_end_of_the_body_ends_its_line() -> None:
    assert parse([b"data: x\r"]) == ["x"]
    assert parse([b"data: x\r", b"\ndata: y\r", b"\r"]) == ["x\ny"]


def test_invalid_utf8_is_replaced_not_an_error() -> None:
    assert parse([b"data: \xff\xe2\x82\n\n"]) == ["\ufffd\ufffd"]
