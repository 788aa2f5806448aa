"""The ``openai`` backend: any OpenAI-compatible ``/chat/completions`` endpoint, streamed.

OpenAI itself, vLLM, Ollama, llama.cpp's server, LiteLLM and most hosted
gateways speak the same streaming dialect: ``POST {base_url}/chat/completions``
with ``"stream": true`` answers server-sent events whose ``data:`` lines carry
``choices[0].delta.content`` and end with ``data: [DONE]``. This module speaks
exactly that, nothing vendor-specific, so pointing an agent at a local model is
a base URL and a model name.

Every way the endpoint can fail (unreachable, too slow, an error status, a
stream that breaks off or is not what it should be) becomes a
:class:`BackendError` whose message says what happened in terms a person can
act on; the key is never part of it.

The network is httpx's, as for every other outbound call of convhub, with
httpx's own handling of the proxy environment (``HTTP_PROXY``, ``HTTPS_PROXY``,
``NO_PROXY``) and of certificates (``SSL_CERT_FILE``, ``SSL_CERT_DIR``, else
certifi's bundle). Connections are reused across replies: one pooled client per
event loop (:func:`shared_client`), so a conversation against a remote endpoint
does not pay a TLS handshake per message. Tests inject an ``AsyncClient`` of
their own instead; the backend uses it as it is and never closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import httpx
import orjson

from convhub.agents.backends.base import BackendError, ChatMessage

# ``read`` is the longest silence, before the response head and between reads of the body; there is no total,
# so a long reply may stream for as long as it keeps coming.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=10.0, pool=10.0)
# Generous: many conversations stream from one local model server at once.
POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=30.0)
MAX_ERROR_BODY = 2000
DRAIN_SECS = 1.0

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def shared_client() -> httpx.AsyncClient:
    """The pooled client of the running event loop (made on first use; a client cannot cross loops)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = _clients[loop] = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, limits=POOL_LIMITS)
    return client


async def aclose_shared_client() -> None:
    """Close the running loop's pooled client (at shutdown); the next reply opens a new one."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


class OpenAIBackend:
    """Streams a reply from an OpenAI-compatible chat completions endpoint."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.client = client

    def request_body(self, messages: Sequence[ChatMessage]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        return body

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    async def stream_reply(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        where = f"The model endpoint at {self.base_url}"
        client = self.client if self.client is not None else shared_client()
        # The stack closes the response however the generator ends: read to the end, its connection goes back to
        # the pool; otherwise (an error, the caller's aclose(), a cancellation) the connection is closed.
        async with contextlib.AsyncExitStack() as stack:
            try:
                response = await stack.enter_async_context(client.stream(
                    "POST", self.url, json=self.request_body(messages), headers=self.headers(),
                    timeout=self.timeout, follow_redirects=False))
            except httpx.TimeoutException:
                raise BackendError(f"{where} did not answer in time.") from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise BackendError(f"{where} could not be reached: {_reason(exc)}.") from None
            try:
                async for delta in self._read(response, where):
                    yield delta
            except httpx.TimeoutException:
                raise BackendError(f"{where} stopped sending the reply (timed out).") from None
            except httpx.HTTPError as exc:
                raise BackendError(f"{where} broke off the reply: {_reason(exc)}.") from None

    async def _read(self, response: httpx.Response, where: str) -> AsyncIterator[str]:
        if response.status_code >= 400:
            raise BackendError(await self._status_message(response))
        if response.headers.get("content-type", "").startswith("application/json"):
            # A server that ignores "stream": true answers one JSON completion: still a reply.
            yield _whole_reply(await response.aread(), where)
            return
        async with contextlib.aclosing(_events(response)) as events:
            async for delta in _deltas(events, where):
                yield delta
            # What follows [DONE] is normally nothing; reading to the end lets the connection back into the
            # pool. A server that keeps the body open gets a moment, then the connection is dropped.
            with contextlib.suppress(httpx.HTTPError, TimeoutError):
                async with asyncio.timeout(DRAIN_SECS):
                    async for _ in events:
                        pass

    async def _status_message(self, response: httpx.Response) -> str:
        where = f"The model endpoint at {self.base_url}"
        raw = b""
        async for chunk in response.aiter_bytes():
            raw += chunk
            if len(raw) >= MAX_ERROR_BODY:
                break  # enough to say what went wrong; the connection is dropped, not drained
        detail = _error_detail(raw[:MAX_ERROR_BODY].decode("utf-8", errors="replace"))
        status = response.status_code
        if status in (401, 403):
            return f"{where} refused the request (HTTP {status}): check the agent's API key.{detail}"
        if status == 404:
            return (f"{where} has no {self.url!r} (HTTP 404): check the base URL (it usually ends in /v1) "
                    f"and the model name.{detail}")
        if status == 429:
            return f"{where} is rate limiting requests (HTTP 429); try again shortly.{detail}"
        return f"{where} answered HTTP {status}.{detail}"


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if isinstance(exc, httpx.ConnectError):  # refused, unknown host, TLS failed, proxy unreachable
        name = "connection failed"
    elif isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):  # closed, reset, cut short
        name = "the connection broke"
    else:
        name = type(exc).__name__
    return f"{name} ({text})" if text and text != name else name


def _error_detail(body: str) -> str:
    """The error message of an OpenAI-style error body ({"error": {"message": …}}), or the body's start."""
    message: Any = None
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error", parsed.get("detail"))
        message = error.get("message") if isinstance(error, dict) else error
    if message is None:
        message = body.strip()
    text = " ".join(str(message).split())[:300]
    return f" It said: {text}" if text else ""


def _whole_reply(body: bytes, where: str) -> str:
    try:
        content = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise BackendError(f"{where} answered with something that is not a chat completion.") from None
    return content if isinstance(content, str) else ""


class _EventParser:
    """Server-sent events from the body's bytes as they arrive: the data of each event, once it is complete.

    Lines end in LF, CRLF or CR (as the SSE spec says), wherever the reads cut them; multi-line data is joined
    with newlines. Bytes are split on line ends before each whole line is decoded, so a character cut between
    two reads stays whole. Comments (":"), "event:", "id:" and "retry:" lines carry nothing a chat completion needs.
    """

    __slots__ = ("data", "rest")

    def __init__(self) -> None:
        self.data: list[str] = []
        self.rest = b""  # the start of a line whose end has not arrived

    def feed(self, chunk: bytes) -> list[str]:
        if self.rest:
            chunk = self.rest + chunk
        held = b""
        if b"\r" in chunk:
            if chunk.endswith(b"\r"):  # perhaps the first half of a CRLF: settled by the next read
                chunk, held = chunk[:-1], b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        self.rest = lines.pop() + held
        return self._lines(lines)

    def end(self) -> list[str]:
        """What is left when the body ends: a last line without its line end, an event without its blank line."""
        rest, self.rest = self.rest, b""
        events = self._lines([rest.removesuffix(b"\r")]) if rest else []
        if self.data:
            events.append("\n".join(self.data))
            self.data = []
        return events

    def _lines(self, lines: list[bytes]) -> list[str]:
        events: list[str] = []
        data = self.data
        for line in lines:
            if not line:
                if data:
                    events.append("\n".join(data))
                    data = self.data = []
            elif line.startswith(b"data:"):
                value = line[5:].decode("utf-8", errors="replace")
                data.append(value[1:] if value.startswith(" ") else value)
        return events


async def _events(response: httpx.Response) -> AsyncGenerator[str, None]:
    """The data of each server-sent event of the response body."""
    parser = _EventParser()
    async for chunk in response.aiter_bytes():
        for data in parser.feed(chunk):
            yield data
    for data in parser.end():
        yield data


async def _deltas(events: AsyncIterator[str], where: str) -> AsyncIterator[str]:
    finished = False
    async for data in events:
        if data.strip() == "[DONE]":
            return
        try:
            chunk = orjson.loads(data)  # every event of every reply: orjson, several times json's speed
        except ValueError:
            raise BackendError(f"{where} sent a malformed stream (an event is not JSON: {data[:80]!r}).") from None
        if not isinstance(chunk, dict):
            raise BackendError(f"{where} sent a malformed stream (an event is not a JSON object).")
        if "error" in chunk:
            raise BackendError(f"{where} failed while replying.{_error_detail(json.dumps(chunk))}")
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            raise BackendError(f"{where} sent a malformed stream (an event has no choices).")
        if not choices:
            continue  # e.g. the usage summary some servers send last
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            raise BackendError(f"{where} sent a malformed stream (a choice has no delta).")
        content = delta.get("content")
        if isinstance(content, str) and content:
            yield content
        if choice.get("finish_reason"):
            finished = True
    if not finished:
        raise BackendError(f"{where} ended the stream before the reply was complete.")
