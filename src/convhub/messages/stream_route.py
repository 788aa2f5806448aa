"""``POST /v1/conversations/{id}/messages/stream`` without the framework's work per request.

Every chat message comes through this one route, and for it FastAPI's machinery
(six middleware layers, matching, solving five dependencies, Starlette's
streaming response with its task group and the send wrappers each chunk passes)
cost more CPU than convhub's own work before the model is asked
(docs/benchmarks.md). So :class:`StreamRoute` answers it first, in front of the
application, doing only what the route needs:

* read the body; take the key from ``xi-api-key`` or ``Authorization: Bearer``
  (:func:`~convhub.auth.dependencies.api_key`); validate the body with the same
  :class:`~convhub.messages.schemas.MessageCreate`;
* authenticate and check the scope with the same functions as the dependencies,
  then :func:`~convhub.messages.endpoints.open_stream`, as the endpoint does;
  domain errors are rendered by the same :func:`~convhub.errors.error_response`;
* send the frames as they come, and stop the reply when the client leaves, as
  the endpoint's :class:`~convhub.messages.endpoints.ReplyStream` does.

A request it does not serve itself (no key, a body or an id to refuse, a path
under a root path) it hands, with its body, to the full application: the
endpoint stays there, answers those with the usual 401s and 422s, and is what
the OpenAPI document describes. So no error shape is written twice.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.responses import PlainTextResponse
from starlette.types import Message, Receive, Scope, Send

from convhub.auth.dependencies import api_key, check_scope
from convhub.auth.scopes import Scope as KeyScope
from convhub.auth.service import authenticate
from convhub.errors import ConvhubError, error_response
from convhub.messages.endpoints import MAX_REF, SSE_RAW_HEADERS, open_stream, router
from convhub.messages.schemas import MessageCreate

ASGIHandler = Callable[[Scope, Receive, Send], Awaitable[None]]

_PATH = re.compile(re.escape(router.prefix) + r"/([^/]+)/messages/stream")
_JSON = b"application/json"
_HEADERS = (b"content-type", b"xi-api-key", b"authorization")


class StreamRoute:
    """The stream route, served lean; ``fallback`` is the full application, for what it hands over."""

    def __init__(self, state: Any, fallback: ASGIHandler) -> None:
        self.state = state
        self.fallback = fallback

    @staticmethod
    def match(scope: Scope) -> str | None:
        """The conversation reference when ``scope`` is a request for this route (the same test as the router's:
        the method, and the path without its root path)."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None
        found = _PATH.fullmatch(scope["path"])
        return found[1] if found else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request :meth:`match` found, with its reference in ``scope["path_params"]["id"]``."""
        ref: str = scope["path_params"]["id"]
        body = await _read_body(receive)
        if body is None:
            return  # the client left before sending it all: nobody to answer
        request = _parse(scope, ref, body)
        if request is None:
            await self.fallback(scope, _replay(body, receive), send)
            return
        secret, message = request
        state = self.state
        try:
            async with state.db.session() as session:
                subject = check_scope(await authenticate(session, secret), KeyScope.conversations_write)
                producer, frames = await open_stream(session, state, subject, ref, message)
        except ConvhubError as exc:
            await error_response(exc)(scope, receive, send)
            return
        except Exception:
            # As Starlette's ServerErrorMiddleware: a plain 500, and the error goes on to the server to be logged.
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        await send({"type": "http.response.start", "status": 200, "headers": SSE_RAW_HEADERS})
        if producer is None:
            await _send_all(send, frames)
            return
        # The client leaving stops the reply (what it had said is stored as interrupted), as ReplyStream does.
        left = asyncio.ensure_future(_disconnect(receive))

        def gone(task: asyncio.Future[None]) -> None:
            if not task.cancelled():
                task.exception()  # a receive that failed also means nobody listens (and is not logged twice)
                producer.stop()

        left.add_done_callback(gone)
        try:
            await _send_all(send, frames, until=left)
        finally:
            left.cancel()
            producer.stop()


async def _send_all(send: Send, frames: AsyncIterator[bytes], until: asyncio.Future[None] | None = None) -> None:
    """The response's body, a chunk per item of ``frames``; cut short once ``until`` is done."""
    async for chunk in frames:
        if until is not None and until.done():
            return
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _parse(scope: Scope, ref: str, body: bytes) -> tuple[str, MessageCreate] | None:
    """The key and the message of a request this route serves itself; None for one to hand over."""
    if len(ref) > MAX_REF:
        return None
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _HEADERS:
            headers.setdefault(name, value)  # a name given twice: the first, as Starlette reads it
    if headers.get(b"content-type", b"").partition(b";")[0].strip().lower() != _JSON:
        return None
    secret = api_key(_text(headers.get(b"xi-api-key")), _text(headers.get(b"authorization")))
    if secret is None:
        return None
    try:
        return secret, MessageCreate.model_validate_json(body)
    except ValidationError:
        return None


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` as if the body had not been read yet."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _disconnect(receive: Receive) -> None:
    """Until the client is gone (or the response is complete: the server says so the same way)."""
    while (await receive())["type"] != "http.disconnect":
        pass

