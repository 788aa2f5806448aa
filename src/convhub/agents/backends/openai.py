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

The network is aiohttp's, not httpx's (which the rest of convhub uses): a
streamed reply costs about a fifth of the CPU (~0.25 ms a request against
~1.3 ms, and httpcore's pool gets slower under load as it polls every pooled
connection's socket per request), and this backend runs once per message of
every conversation with a model. Connections are reused across replies: one
pooled session per event loop (:func:`shared_session`), so a conversation
against a remote endpoint does not pay a TLS handshake per message. The
session trusts the same certificates httpx did (certifi, or ``SSL_CERT_FILE``
/ ``SSL_CERT_DIR``) and honours the proxy environment variables, looked up
once per endpoint rather than through aiohttp's ``trust_env``, which costs two
thread hand-offs (proxy and ``.netrc`` lookups) on every request. Tests inject
a ``ClientSession`` of their own instead; the backend uses it as it is and
never closes it.

The event stream is split into lines here rather than by aiohttp's line
reader (which refuses lines over 64 KiB): bytes are split on line ends first
and each whole line decoded, so a character cut between two reads stays whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import ssl
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import certifi
import orjson
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from convhub.agents.backends.base import BackendError, ChatMessage


def _timeout(connect: float, read: float) -> aiohttp.ClientTimeout:
    # ``connect`` bounds waiting for a pooled connection and making one (httpx's pool and connect timeouts);
    # ``sock_read`` is the longest silence, before the response head and between reads of the body. No total:
    # a long reply may stream for as long as it keeps coming.
    return aiohttp.ClientTimeout(total=None, connect=2 * connect, sock_connect=connect, sock_read=read)


DEFAULT_TIMEOUT = _timeout(connect=10.0, read=60.0)
# Generous: many conversations stream from one local model server at once.
POOL_SIZE = 1000
KEEPALIVE_SECS = 30.0
MAX_ERROR_BODY = 2000
DRAIN_SECS = 1.0


@dataclass(frozen=True, slots=True)
class _Proxy:
    url: URL | None = None
    headers: dict[str, str] | None = None


_DIRECT = _Proxy()


@dataclass(slots=True)
class _Pool:
    """A loop's pooled session, and the proxy of each endpoint it has talked to (from the environment)."""

    session: aiohttp.ClientSession
    proxies: dict[str, _Proxy] = field(default_factory=dict)

    async def proxy(self, origin: str) -> _Proxy:
        proxy = self.proxies.get(origin)
        if proxy is None:
            # The environment is read once per endpoint (httpx read it once per client): off the loop, as it
            # may read ~/.netrc for the proxy's credentials.
            proxy = self.proxies[origin] = await asyncio.to_thread(_env_proxy, origin)
        return proxy


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = weakref.WeakKeyDictionary()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The certificates httpx trusts: ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's bundle."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def _env_proxy(origin: str) -> _Proxy:
    """The proxy the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY``) names for ``origin``."""
    try:
        proxy, auth = get_env_proxy_for_url(URL(origin))
    except (LookupError, ValueError):
        return _DIRECT
    return _Proxy(proxy, {"Proxy-Authorization": auth.encode()} if auth is not None else None)


def _shared_pool() -> _Pool:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None or pool.session.closed:
        connector = aiohttp.TCPConnector(limit=POOL_SIZE, keepalive_timeout=KEEPALIVE_SECS, ssl=_ssl_context())
        pool = _pools[loop] = _Pool(aiohttp.ClientSession(connector=connector, timeout=DEFAULT_TIMEOUT))
    return pool


def shared_session() -> aiohttp.ClientSession:
    """The pooled session of the running event loop (made on first use; a session cannot cross loops)."""
    return _shared_pool().session


async def aclose_shared_client() -> None:
    """Close the running loop's pooled session (at shutdown); the next reply opens a new one."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.session.close()


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
        timeout: aiohttp.ClientTimeout | float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.origin = "/".join(self.url.split("/", 3)[:3])  # scheme://host[:port], the key of its proxy
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        # A number of seconds is every timeout, as it was for httpx.
        self.timeout = timeout if isinstance(timeout, aiohttp.ClientTimeout) else _timeout(timeout, timeout)
        self.session = session

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
        # Encoded as httpx's ``json=`` did: compact, UTF-8, and NaN refused (a ValueError, before any request).
        body = json.dumps(self.request_body(messages), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode()
        headers = self.headers()
        headers["Content-Type"] = "application/json"
        if self.session is not None:
            session, proxy = self.session, _DIRECT  # the caller's session, with the caller's settings
        else:
            pool = _shared_pool()
            session, proxy = pool.session, await pool.proxy(self.origin)
        try:
            response = await session.post(self.url, data=body, headers=headers, timeout=self.timeout,
                                          allow_redirects=False, proxy=proxy.url, proxy_headers=proxy.headers)
        except TimeoutError:
            raise BackendError(f"{where} did not answer in time.") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise BackendError(f"{where} could not be reached: {_reason(exc)}.") from None
        # From here on the response is released however the generator ends: read to the end, its connection
        # goes back to the pool; otherwise (an error, the caller's aclose(), a cancellation) it is closed.
        try:
            if response.status >= 400:
                raise BackendError(await self._status_message(response))
            if response.headers.get("content-type", "").startswith("application/json"):
                # A server that ignores "stream": true answers one JSON completion: still a reply.
                yield _whole_reply(await response.read(), where)
                return
            async with contextlib.aclosing(_events(response)) as events:
                async for delta in _deltas(events, where):
                    yield delta
                # What follows [DONE] is normally nothing; reading to the end lets the connection back into
                # the pool. A server that keeps the body open gets a moment, then the connection is dropped.
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with asyncio.timeout(DRAIN_SECS):
                        async for _ in events:
                            pass
        except TimeoutError:
            raise BackendError(f"{where} stopped sending the reply (timed out).") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise BackendError(f"{where} broke off the reply: {_reason(exc)}.") from None
        finally:
            response.release()

    async def _status_message(self, response: aiohttp.ClientResponse) -> str:
        where = f"The model endpoint at {self.base_url}"
        raw = b""
        while len(raw) < MAX_ERROR_BODY:
            chunk = await response.content.read(MAX_ERROR_BODY - len(raw))
            if not chunk:
                break
            raw += chunk
        # Enough to say what went wrong; the connection is dropped, not drained (unless that was all of it).
        body = raw.decode("utf-8", errors="replace")
        detail = _error_detail(body)
        status = response.status
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
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unknown host, TLS failed, proxy unreachable
        name = "connection failed"
    elif isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):  # closed, reset, cut short
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
    with newlines. Comments (":"), "event:", "id:" and "retry:" lines carry nothing a chat completion needs.
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


async def _events(response: aiohttp.ClientResponse) -> AsyncGenerator[str, None]:
    """The data of each server-sent event of the response body."""
    parser = _EventParser()
    async for chunk in response.content.iter_any():
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
