"""A lean OpenAI-compatible streaming endpoint for bench/chat.py, run as a process of its own.

``POST /v1/chat/completions`` answers at once with the response head and the
role chunk, sends the first content token a fixed delay after the request
arrived, then the rest of the reply, the finish chunk and ``data: [DONE]`` in
one write; HTTP/1.1 keep-alive, chunked. Plain asyncio (no framework), so the
fake costs as little CPU as possible on a machine it shares with convhub.

It records per request when the request arrived and when the first token was
written (``time.time()``, comparable across processes), keyed by the tag
``[c<conversation>m<message>]`` the benchmark puts at the start of every user
message; ``GET /_stats`` returns them, so the benchmark can split convhub's
time before calling the backend from its time after the first token.

    python bench/_fake_openai.py --port 8011 --first-token-ms 20
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import time
from typing import Any

import orjson

TAG = re.compile(r"^\[(c\d+m\d+)\]")
TOKENS = ["Sure", ",", " here", " is", " the", " answer", " you", " asked", " for", "."]


def _chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "bench",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return _http_chunk(b"data: " + orjson.dumps(body) + b"\n\n")


def _http_chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
        b"transfer-encoding: chunked\r\n\r\n") + _chunk({"role": "assistant", "content": ""})
FIRST = _chunk({"content": TOKENS[0]})
REST = (b"".join(_chunk({"content": t}) for t in TOKENS[1:]) + _chunk({}, finish="stop")
        + _http_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")


class Fake:
    def __init__(self, first_token_secs: float) -> None:
        self.first_token_secs = first_token_secs
        self.timings: dict[str, tuple[float, float]] = {}  # tag -> (request received, first token written)
        self.requests = 0
        self.untagged = 0
        self.connections: set[asyncio.StreamWriter] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                received = time.time()
                request_line, _, header_block = head.partition(b"\r\n")
                length = 0
                for line in header_block.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                if request_line.startswith(b"POST /v1/chat/completions "):
                    await self.complete(writer, body, received)
                elif request_line.startswith(b"GET /_stats "):
                    stats = orjson.dumps({"requests": self.requests, "untagged": self.untagged,
                                          "timings": self.timings})
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                                 % (len(stats), stats))
                elif request_line.startswith(b"GET /healthz "):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                else:
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
        finally:
            self.connections.discard(writer)
            writer.close()

    async def complete(self, writer: asyncio.StreamWriter, body: bytes, received: float) -> None:
        self.requests += 1
        writer.write(HEAD)
        tag = _tag(body)
        # Sleep to a deadline, not for a duration: parsing the request must not lengthen the delay.
        await asyncio.sleep(max(0.0, received + self.first_token_secs - time.time()))
        first = time.time()
        writer.write(FIRST)  # a send of its own: the transport writes at once when its buffer is empty
        writer.write(REST)
        if tag is None:
            self.untagged += 1
        else:
            self.timings[tag] = (received, first)


def _tag(body: bytes) -> str | None:
    try:
        messages: list[dict[str, Any]] = orjson.loads(body)["messages"]
        match = TAG.match(str(messages[-1]["content"]))
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return match[1] if match else None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first-token-ms", type=float, default=20.0)
    args = parser.parse_args()
    fake = Fake(args.first_token_ms / 1000)
    server = await asyncio.start_server(fake.serve, "127.0.0.1", args.port, backlog=1024)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT is how bench/chat.py stops it
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()
    for writer in list(fake.connections):
        writer.close()  # the handlers see the end of their stream and return
    await asyncio.sleep(0.1)


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
