"""A loopback OpenAI-compatible chat completions server, for the ``openai`` backend's tests.

It streams a scripted reply as server-sent events the way OpenAI, vLLM and
Ollama do (a role chunk, content deltas, a finish chunk, ``[DONE]``), records
every request it gets, and can misbehave on demand: answer 500, break the
connection mid-reply, send garbage, stop without finishing, or stall.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Mode = Literal["stream", "fail_midstream", "status_500", "status_401", "malformed", "no_finish", "stall", "json",
               "error_event"]


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    client_port: int | None  # the same port twice means the same (reused) connection


@dataclass
class FakeOpenAI:
    mode: Mode = "stream"
    deltas: list[str] = field(default_factory=lambda: ["Hello", " there", ",", " how", " can", " I", " help?"])
    requests: list[Recorded] = field(default_factory=list)
    stall_secs: float = 2.0

    def reset(self) -> None:
        self.mode = "stream"
        self.deltas = ["Hello", " there", ",", " how", " can", " I", " help?"]
        self.requests.clear()

    @staticmethod
    def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "fake",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body)}\n\n"

    async def _events(self) -> AsyncIterator[str]:
        yield ": keep-alive comment\n\n"
        yield self._chunk({"role": "assistant", "content": ""})
        for n, delta in enumerate(self.deltas):
            if self.mode == "fail_midstream" and n == 2:
                raise RuntimeError("the fake model crashed mid-reply")
            if self.mode == "malformed" and n == 2:
                yield "data: {this is not json\n\n"
            if self.mode == "error_event" and n == 2:
                yield f"data: {json.dumps({'error': {'message': 'CUDA out of memory'}})}\n\n"
                return
            yield self._chunk({"content": delta})
            await asyncio.sleep(0)
        if self.mode == "stall":
            await asyncio.sleep(self.stall_secs)
        if self.mode == "no_finish":
            return
        yield self._chunk({}, finish="stop")
        yield "data: [DONE]\n\n"

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        port = request.client.port if request.client else None
        self.requests.append(Recorded(request.url.path, dict(request.headers), body, port))
        if self.mode == "status_500":
            return JSONResponse({"error": {"message": "The model is overloaded", "type": "server_error"}},
                                status_code=500)
        if self.mode == "status_401":
            return JSONResponse({"error": {"message": "Incorrect API key provided"}}, status_code=401)
        if self.mode == "json":
            return JSONResponse({"choices": [{"index": 0, "message": {"role": "assistant",
                                                                      "content": "".join(self.deltas)}}]})
        return StreamingResponse(self._events(), media_type="text/event-stream")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self.completions, methods=["POST"])])


class FakeOpenAIServer:
    """The fake served by uvicorn on a free loopback port, in a thread of its own."""

    def __init__(self) -> None:
        self.fake = FakeOpenAI()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.server = uvicorn.Server(uvicorn.Config(self.fake.app(), host="127.0.0.1", port=self.port,
                                                    log_level="critical", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
