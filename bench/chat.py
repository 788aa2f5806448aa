"""Benchmark: streamed chat against a model endpoint, and live events fanned out to many watchers.

The issue's figures: 200 concurrent conversations, each sending 10 messages and
streaming the replies from a fake OpenAI-compatible backend with a fixed 20 ms
to the first token; convhub's added latency to the first chunk p95 ≤ 15 ms
with no errors; events fanned out to 500 SSE subscribers with delivery p95 ≤ 50 ms.

Three processes besides this one, all on loopback: a real ``convhub serve``
(uvicorn, one process) on a fresh, migrated database (SQLite by default); the
fake model endpoint (``bench/_fake_openai.py``, plain asyncio: headers at once,
the first token exactly ``--first-token-ms`` after the request arrived, the rest
of the reply in one write); and, for the fan-out, the subscribers (500 bare
asyncio connections in a process of their own). The chat clients run here, as
bare HTTP/1.1 keep-alive clients too: httpx would cost more CPU per message than
a client should on a machine whose 2 cores the server, the fake and the clients
share (each process's CPU seconds are in the result).

Phases:

1. **chat**: ``--conversations`` conversations (``POST /v1/conversations``,
   untimed) each send ``--messages`` messages one after another with
   ``POST /v1/conversations/{id}/messages/stream``: the next one after a pause
   once the previous stream's ``done`` arrived, as a person reads the reply and
   types (``--think-ms``, default 5 s, each pause drawn uniformly within
   ``--think-jitter`` of it, so the conversations do not fall into step; their
   starts are spread over one pause). All conversations run at once; nobody
   watches the event stream.
2. **fan-out**: ``--subscribers`` connections to ``GET /v1/events`` (the whole
   workspace, no filter) are open and answered before any traffic; then
   ``--fanout-conversations`` conversations send ``--fanout-messages`` messages
   each, as in phase 1 but with no pause by default (``--fanout-think-ms``: the
   most events per second the server makes), and every event they cause (``conversation.status`` of
   each new chat, ``turn.added`` for each message and each stored reply) must
   reach every subscriber.

Measurements:

* **added latency to the first chunk** (per message) = (client clock from
  writing the stream request to reading the first ``delta`` event) minus the fake's
  fixed first-token delay. The fake records when each request arrived and when
  it wrote the first token (the message's tag ``[c<i>m<j>]`` names it), which
  splits it into *before the backend* (request written → request at the fake:
  auth, the message's transaction, the event, building the model request) and
  *after the first token* (first token written → ``delta`` read: parsing the
  model stream, the producer's queue, the SSE frame); what remains is the fake
  sleeping past its deadline. Reported p50/p95/p99/max; the target is on the
  p95 of the added latency as defined, fake's overshoot included.
* **whole reply** (request written → ``done`` read) and **first delta to done**
  (after the text, storing the reply: the ``message`` event, then ``done``).
* **errors**: any status other than 200, any ``error`` event, a stream without
  ``message`` or ``done``, a broken connection or a timeout (``--timeout``).
* **delivery delay** (per event and subscriber) = the subscribers' process clock
  when it read the event minus the event's ``at`` (set by the bus at publish, after
  the commit); reported p50/p95/p99/max, with events delivered against
  expected (subscribers x events caused) and how many subscribers got them all.
  Clocks are ``time.time()`` of one machine, so they compare across processes.
* **CPU seconds** of the server, the fake, the clients and the subscribers per
  phase, and the server's CPU milliseconds per message.
* **host steal** (``host_steal_pct``): the share of this machine's CPU time its
  host gave to others during the chat phase (``/proc/stat``). On a shared virtual
  machine it comes and goes; with it at 20-50%, every process here waits on the
  host and the latencies say more about the host than about convhub. A run to
  compare is one with steal near 0. ``python_loop_ms`` is the machine's speed
  just before the phase (a fixed pure-Python loop): it drifts by the hour on a
  shared host, and runs compare only as far as it agrees. ``--samples FILE`` writes each message's
  timings, to see whether the slow ones came together (a stall) or spread out.

Before phase 1, up to ``--warmup`` conversations send two messages each, untimed.

The target is read at that pace: 200 people chatting at once, each sending a
message a few seconds after the last reply ended (about 36 messages a second in
all). ``--think-ms 0`` makes each conversation a closed loop instead: it sends
as soon as its last reply is done, so the server is always saturated and the
latencies measure its throughput (Little's law: conversations / messages per
second) more than the latency it adds; ``--conversations 1`` gives the floor.
Pauses are drawn from a seeded generator (``--seed``), so runs are repeatable.

Prints progress on stderr, one JSON object as the last line of stdout, and
appends a row to docs/benchmarks.md (``--no-record``: not).

    python bench/chat.py                                             # the issue's figures, SQLite
    python bench/chat.py --conversations 10 --messages 2 --subscribers 20 --no-record   # a quick look
    python bench/chat.py --db postgres                               # a fresh local PostgreSQL database
    python bench/chat.py --think-ms 0 --subscribers 0                # closed loops: the throughput
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import shutil
import sys
import time
from array import array
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _process import process
from _record import append_row, cpu_times, machine, python_loop_ms, steal_pct

from convhub.auth.scopes import ALL_SCOPES
from convhub.auth.service import create_key, ensure_workspace
from convhub.db import Database
from convhub.migrate import upgrade
from convhub.simulators.common import free_port

PYTHON = sys.executable
HERE = Path(__file__).resolve().parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "convhub_bench_chat"
WORKSPACE = "bench"
SECRET = "bench-secret"
USER_TEXT = "Hello! I ordered a router last week and it has not arrived yet; where is it?"

ADDED_P95_TARGET_MS = 15.0
DELIVERY_P95_TARGET_MS = 50.0
# From this much host steal on, a run's latencies say more about the host than about convhub (said so).
NOISY_HOST_STEAL_PCT = 5.0

err = Console(stderr=True, soft_wrap=True)


def log(message: str) -> None:
    err.print(message, highlight=False, markup=False)


def percentile(ordered: list[float] | array[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_ms(samples: list[float] | array[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds of samples in seconds."""
    if not samples:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(samples)
    return {name: round(percentile(ordered, q) * 1000, 2)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}


def cpu_secs(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (uvicorn[standard] brings it): the clients' own overhead, smaller."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def own_cpu_secs() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------ processes and setup


async def fresh_database(db: str, workdir: Path) -> str:
    """A migrated, empty database: ``sqlite`` (a file in the workdir), ``postgres`` (a database created on
    the local server) or a SQLAlchemy async URL used as it is."""
    if db == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'convhub.db'}"
    elif db == "postgres":
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
        await conn.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
    else:
        url = db
    await asyncio.to_thread(upgrade, url)
    return url


async def make_key(url: str) -> str:
    database = Database(url)
    try:
        async with database.session() as session:
            ws = await ensure_workspace(session, WORKSPACE)
            _, secret = await create_key(session, ws, scopes=list(ALL_SCOPES), name="bench")
    finally:
        await database.dispose()
    return secret


# ------------------------------------------------------------------ a bare HTTP/1.1 client


class HTTPConnection:
    """One keep-alive connection, requests one at a time. The chat clients and the subscribers use this
    rather than httpx: on two cores the clients' CPU must not be what is measured."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.key = key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[bytes, bytes]]:
        """Write a request and read the response head; the body is read with :meth:`body_chunks`.

        A kept-alive connection the server has closed meanwhile (uvicorn: after 5 idle seconds) is
        replaced and the request sent again, as every HTTP client does; nothing reached the server.
        """
        head = f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nxi-api-key: {self.key}\r\n"
        if body is not None:
            head += f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        request = head.encode() + b"\r\n" + (body or b"")
        reused = self.writer is not None
        try:
            return await self._exchange(request)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            self.close()
            return await self._exchange(request)

    async def _exchange(self, request: bytes) -> tuple[int, dict[bytes, bytes]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if value:
                headers[name.strip().lower()] = value.strip()
        return int(lines[0].split(b" ", 2)[1]), headers

    async def body_chunks(self, headers: dict[bytes, bytes]) -> AsyncIterator[bytes]:
        assert self.reader is not None
        if headers.get(b"transfer-encoding") == b"chunked":
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                yield (await self.reader.readexactly(size + 2))[:-2]
            while await self.reader.readline() not in (b"\r\n", b""):
                pass  # trailers
        else:
            yield await self.reader.readexactly(int(headers.get(b"content-length", b"0")))

    async def body(self, headers: dict[bytes, bytes]) -> bytes:
        return b"".join([chunk async for chunk in self.body_chunks(headers)])

    async def json(self, method: str, path: str, payload: Any) -> tuple[int, Any]:
        status, headers = await self.send(method, path, orjson.dumps(payload))
        return status, orjson.loads(await self.body(headers) or b"null")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# ------------------------------------------------------------------ chat clients


@dataclass
class Sample:
    tag: str
    sent: float
    first_delta: float | None = None
    done: float | None = None
    status: int | None = None
    got_message: bool = False
    error: str | None = None


@dataclass
class ChatRun:
    samples: list[Sample] = field(default_factory=list)
    created: int = 0
    create_errors: Counter[str] = field(default_factory=Counter)
    secs: float = 0.0


async def stream_one(conn: HTTPConnection, conversation_id: str, tag: str, limit_secs: float) -> Sample:
    body = orjson.dumps({"content": f"[{tag}] {USER_TEXT}"})
    sample = Sample(tag, time.time())
    try:
        async with asyncio.timeout(limit_secs):
            sample.status, headers = await conn.send("POST", f"/v1/conversations/{conversation_id}/messages/stream",
                                                     body)
            if sample.status != 200:
                sample.error = f"HTTP {sample.status}"
                await conn.body(headers)
                return sample
            buffer = b""
            async for chunk in conn.body_chunks(headers):
                now = time.time()
                buffer += chunk
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    event = frame.partition(b"event: ")[2].partition(b"\n")[0]
                    if event == b"delta":
                        if sample.first_delta is None:
                            sample.first_delta = now
                    elif event == b"message":
                        sample.got_message = True
                    elif event == b"done":
                        sample.done = now
                    elif event == b"error":
                        sample.error = "error event: " + frame.partition(b"data: ")[2].decode()[:200]
    except TimeoutError:
        sample.error = f"timed out after {limit_secs:g} s"
        conn.close()
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        sample.error = f"{type(exc).__name__}: {exc}"[:200]
        conn.close()
    if sample.error is None and (sample.done is None or not sample.got_message or sample.first_delta is None):
        sample.error = "stream ended without " + ("delta" if sample.first_delta is None else
                                                  "message" if not sample.got_message else "done")
    return sample


async def chat_phase(port: int, key: str, agent_id: str, conversations: int, messages: int, *, think: float,
                     limit_secs: float, label: str, first: int = 0, jitter: float = 0.0, seed: int = 0) -> ChatRun:
    """``conversations`` chats at once, each sending ``messages`` one after another."""
    run = ChatRun()
    ids: list[str] = []
    setup = [HTTPConnection(port, key) for _ in range(min(conversations, 20))]

    async def create(k: int) -> None:
        conn = setup[k % len(setup)]
        try:
            status, answer = await conn.json("POST", "/v1/conversations", {"agent_id": agent_id})
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            run.create_errors[type(exc).__name__] += 1
            conn.close()
            return
        if status == 201:
            ids.append(answer["id"])
        else:
            run.create_errors[f"HTTP {status}"] += 1

    async def creator(k: int) -> None:
        for n in range(k, conversations, len(setup)):
            await create(n)

    await asyncio.gather(*(creator(k) for k in range(len(setup))))
    for conn in setup:
        conn.close()
    run.created = len(ids)

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(label, total=len(ids) * messages)

        async def converse(c: int, conversation_id: str) -> None:
            conn = HTTPConnection(port, key)
            pauses = random.Random(seed * 1_000_003 + first + c)
            if think:
                await asyncio.sleep(think * c / len(ids))  # paced conversations start spread out, not in step
            try:
                for m in range(messages):
                    sample = await stream_one(conn, conversation_id, f"c{first + c}m{m}", limit_secs)
                    run.samples.append(sample)
                    progress.advance(task)
                    if think:
                        await asyncio.sleep(think * pauses.uniform(1 - jitter, 1 + jitter))
            finally:
                conn.close()

        started = time.perf_counter()
        await asyncio.gather(*(converse(c, conversation_id) for c, conversation_id in enumerate(ids)))
        run.secs = time.perf_counter() - started
    return run


def chat_figures(run: ChatRun, timings: dict[str, list[float]], first_token: float) -> dict[str, Any]:
    ok = [s for s in run.samples if s.error is None and s.first_delta is not None]
    added = [s.first_delta - s.sent - first_token for s in ok if s.first_delta is not None]
    before, after, overshoot = [], [], []
    for s in ok:
        if s.tag in timings and s.first_delta is not None:
            received, first = timings[s.tag]
            before.append(received - s.sent)
            after.append(s.first_delta - first)
            overshoot.append(first - received - first_token)
    whole = [s.done - s.sent for s in ok if s.done is not None]
    # The reply's text is out; what remains is storing it (``message``) and ``done``.
    to_done = [s.done - s.first_delta for s in ok if s.done is not None and s.first_delta is not None]
    errors = Counter(s.error.split(":")[0] if s.error.startswith("error event") else s.error
                     for s in run.samples if s.error is not None)
    figures: dict[str, Any] = {
        "conversations": run.created,
        "messages": len(run.samples),
        "ok": len(ok),
        "errors": sum(errors.values()) + sum(run.create_errors.values()),
        "error_kinds": dict(errors.most_common(5)) | {f"create {k}": n for k, n in run.create_errors.items()},
        "secs": round(run.secs, 2),
        "messages_per_sec": round(len(run.samples) / run.secs, 1) if run.secs else None,
        "added_ms": summary_ms(added),
        "before_backend_ms": summary_ms(before),
        "after_first_token_ms": summary_ms(after),
        "fake_overshoot_ms": summary_ms(overshoot),
        "whole_reply_ms": summary_ms(whole),
        "first_delta_to_done_ms": summary_ms(to_done),
        "split_matched": len(before),
    }
    return figures


def write_samples(path: Path, run: ChatRun, timings: dict[str, list[float]], first_token: float) -> None:
    """One CSV row per message: when it was sent (ms from the first), its added latency and the split."""
    start = min((s.sent for s in run.samples), default=0.0)
    rows = ["tag,sent_ms,added_ms,before_backend_ms,after_first_token_ms,error"]
    for s in sorted(run.samples, key=lambda s: s.sent):
        added = before = after = ""
        if s.first_delta is not None:
            added = f"{(s.first_delta - s.sent - first_token) * 1000:.2f}"
            if s.tag in timings:
                received, first = timings[s.tag]
                before, after = f"{(received - s.sent) * 1000:.2f}", f"{(s.first_delta - first) * 1000:.2f}"
        rows.append(f"{s.tag},{(s.sent - start) * 1000:.1f},{added},{before},{after},{s.error or ''}")
    path.write_text("\n".join(rows) + "\n")
    log(f"samples: {path}")


# ------------------------------------------------------------------ subscribers (a process of their own)


class _Shared:
    def __init__(self) -> None:
        self.delays: array[float] = array("d")
        self.ids: set[bytes] = set()
        self.at_cache: dict[bytes, float] = {}
        self.last_data = time.monotonic()


class Subscriber(asyncio.Protocol):
    """One ``GET /v1/events`` connection: decodes the chunked body and timestamps every event it reads."""

    def __init__(self, request: bytes, shared: _Shared) -> None:
        self.request = request
        self.shared = shared
        self.answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.raw = b""
        self.body = b""
        self.left = 0  # bytes of the current chunk still to come
        self.skip = 0  # the CRLF after a chunk
        self.count = 0
        self.lagged = False
        self.ended = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        if not self.answered.done():
            self.answered.set_result(0)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.shared.last_data = time.monotonic()
        buf = self.raw + data
        pos = 0
        if not self.answered.done():
            end = buf.find(b"\r\n\r\n")
            if end == -1:
                self.raw = buf
                return
            self.answered.set_result(int(buf.split(b" ", 2)[1]))
            pos = end + 4
        payloads = []
        while True:
            if self.skip:
                n = min(self.skip, len(buf) - pos)
                pos += n
                self.skip -= n
                if self.skip:
                    break
            if not self.left:
                nl = buf.find(b"\r\n", pos)
                if nl == -1:
                    break
                size = int(buf[pos:nl].split(b";")[0], 16)
                pos = nl + 2
                if not size:
                    self.ended = True
                    break
                self.left = size
            n = min(self.left, len(buf) - pos)
            if not n:
                break
            payloads.append(buf[pos:pos + n])
            pos += n
            self.left -= n
            if not self.left:
                self.skip = 2
        self.raw = buf[pos:]
        if payloads:
            self.body += b"".join(payloads)
            *frames, self.body = self.body.split(b"\n\n")
            for frame in frames:
                self.frame(frame, now)

    def frame(self, frame: bytes, now: float) -> None:
        if not frame.startswith(b"id: "):
            return  # a keep-alive comment
        shared = self.shared
        event_id = frame[4:frame.find(b"\n")]
        if b"\nevent: stream.lagged\n" in frame:
            self.lagged = True
            return
        start = frame.find(b'"at":"') + 6
        at_raw = frame[start:frame.find(b'"', start)]
        at = shared.at_cache.get(at_raw)
        if at is None:
            at = shared.at_cache[at_raw] = datetime.fromisoformat(at_raw.decode()).timestamp()
        shared.delays.append(now - at)
        shared.ids.add(event_id)
        self.count += 1


async def _subscribe(port: int, key: str, n: int, pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    shared = _Shared()
    request = (f"GET /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\nxi-api-key: {key}\r\n"
               f"accept: text/event-stream\r\n\r\n").encode()
    subscribers: list[Subscriber] = []

    async def connect() -> None:
        _, protocol = await loop.create_connection(lambda: Subscriber(request, shared), "127.0.0.1", port)
        subscribers.append(protocol)
        await protocol.answered

    started = time.perf_counter()
    results = await asyncio.gather(*(connect() for _ in range(n)), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    statuses = Counter(s.answered.result() for s in subscribers)
    pipe.send({"connected": statuses.get(200, 0), "failed": len(failed) + sum(v for k, v in statuses.items()
                                                                             if k != 200),
               "connect_secs": round(time.perf_counter() - started, 2)})
    expected, settle = await asyncio.to_thread(pipe.recv)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if all(s.count >= expected for s in subscribers if not s.ended):
            break
        if time.monotonic() - shared.last_data > settle:
            break
        await asyncio.sleep(0.05)
    counts = [s.count for s in subscribers]
    delivered = sum(counts)
    pipe.send({
        "subscribers": len(subscribers),
        "events_seen": len(shared.ids),
        "delivered": delivered,
        "complete_subscribers": sum(1 for c in counts if c >= expected),
        "min_per_subscriber": min(counts, default=0),
        "lagged": sum(1 for s in subscribers if s.lagged),
        "closed_early": sum(1 for s in subscribers if s.ended),
        "delay_ms": summary_ms(shared.delays),
        "subscribers_cpu_secs": round(own_cpu_secs(), 1),
    })
    for s in subscribers:
        if s.transport is not None:
            s.transport.close()


def subscribers_main(port: int, key: str, n: int, pipe: Connection) -> None:
    """The subscribers' process: connect ``n`` watchers, say so, count until told how many events to expect."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_subscribe(port, key, n, pipe))


# ------------------------------------------------------------------ phases


async def receive(pipe: Connection, secs: float) -> Any:
    if not await asyncio.to_thread(pipe.poll, secs):
        raise RuntimeError(f"the subscribers' process said nothing for {secs:g} s")
    return pipe.recv()


async def fanout_phase(port: int, key: str, agent_id: str, args: argparse.Namespace) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    proc = context.Process(target=subscribers_main, args=(port, key, args.subscribers, child), daemon=True)
    proc.start()
    try:
        ready: dict[str, Any] = await receive(parent, 120)
        log(f"  {ready['connected']} subscribers connected in {ready['connect_secs']} s"
            + (f", {ready['failed']} failed" if ready["failed"] else ""))
        before = own_cpu_secs(), cpu_secs(args.server_pid), cpu_secs(args.fake_pid)
        run = await chat_phase(port, key, agent_id, args.fanout_conversations, args.fanout_messages,
                               think=args.fanout_think_ms / 1000, limit_secs=args.timeout,
                               label="fan-out traffic", first=args.conversations, jitter=args.think_jitter,
                               seed=args.seed)
        # What the traffic announced: each chat started, each message accepted, each reply stored.
        expected = (run.created + sum(1 for s in run.samples if s.status == 200)
                    + sum(1 for s in run.samples if s.got_message))
        log(f"  traffic done; waiting for {args.subscribers} subscribers to read {expected} events each…")
        parent.send((expected, args.settle_secs))
        delivery: dict[str, Any] = await receive(parent, 600 + args.settle_secs + 60)
        after = own_cpu_secs(), cpu_secs(args.server_pid), cpu_secs(args.fake_pid)
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
    delivery.update(expected_per_subscriber=expected, expected=expected * args.subscribers,
                    all_delivered=delivery["delivered"] == expected * args.subscribers
                    and delivery["events_seen"] == expected)
    subscribers_cpu = delivery.pop("subscribers_cpu_secs")
    # The chat while it is watched: the same figures as phase 1, for comparison.
    traffic = chat_figures(run, fake_timings(args.fake_url), args.first_token_ms / 1000)
    traffic["server_cpu_ms_per_message"] = (round((after[1] - before[1]) * 1000 / len(run.samples), 2)
                                            if run.samples else None)
    return {"subscribers": args.subscribers, **delivery, "connect": ready, "traffic": traffic,
            "cpu_secs": {"server": round(after[1] - before[1], 2), "fake": round(after[2] - before[2], 2),
                         "clients": round(after[0] - before[0], 2), "subscribers": subscribers_cpu}}


def describe(chat: dict[str, Any]) -> str:
    added, before, after = chat["added_ms"], chat["before_backend_ms"], chat["after_first_token_ms"]
    return (f"{chat['messages']} messages, {chat['errors']} errors, {chat['messages_per_sec']} msg/s; added ms "
            f"p50 {added['p50']}, p95 {added['p95']}, max {added['max']} (p95 before the backend {before['p95']}, "
            f"after the first token {after['p95']}); whole reply p50 {chat['whole_reply_ms']['p50']}, "
            f"p95 {chat['whole_reply_ms']['p95']} ms; "
            f"server CPU {chat.get('server_cpu_ms_per_message')} ms/message; the host stole "
            f"{chat.get('host_steal_pct')}% of this machine's CPU time meanwhile")


def fake_timings(fake_url: str) -> dict[str, list[float]]:
    stats = httpx.get(f"{fake_url}/_stats", timeout=30).json()
    timings: dict[str, list[float]] = stats["timings"]
    return timings


async def create_agent(port: int, key: str, fake_url: str) -> str:
    conn = HTTPConnection(port, key)
    try:
        status, agent = await conn.json("POST", "/v1/agents", {
            "name": "bench", "backend": "openai", "base_url": f"{fake_url}/v1", "model": "bench",
            "api_key": "sk-bench", "context_budget_chars": 8000,
        })
    finally:
        conn.close()
    if status != 201:
        raise SystemExit(f"creating the agent answered {status}: {agent}")
    agent_id: str = agent["id"]
    return agent_id


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir: Path = args.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "data").mkdir(parents=True)
    log(f"migrating a fresh {args.db} database…")
    url = await fresh_database(args.db, workdir)
    key = await make_key(url)
    first_token = args.first_token_ms / 1000
    fake_port, port = free_port(), free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    env = {"CONVHUB_DATA_DIR": str(workdir / "data"), "CONVHUB_DATABASE_URL": url, "CONVHUB_SECRET_KEY": SECRET,
           "CONVHUB_SCHEDULER": "0", "CONVHUB_PROCESS_WEBHOOKS": "0"}
    serve = ["-m", "convhub.cli", "serve", "--port", str(port), "--log-level", "warning"]
    if args.profile:
        serve = ["-m", "cProfile", "-o", str(args.profile.resolve()), *serve]
    result: dict[str, Any] = {"db": "sqlite" if url.startswith("sqlite") else "postgresql"}
    with (process([PYTHON, str(HERE / "_fake_openai.py"), "--port", str(fake_port), "--first-token-ms",
                   str(args.first_token_ms)], f"{fake_url}/healthz") as fake,
          process([PYTHON, *serve], f"http://127.0.0.1:{port}/healthz", env,
                  stderr_path=workdir / "server.log") as server):
        args.server_pid, args.fake_pid, args.fake_url = server.pid, fake.pid, fake_url
        agent_id = await create_agent(port, key, fake_url)
        if args.warmup:
            # A fresh process compiles its SQL and opens its pools on the first requests; not what is measured.
            await chat_phase(port, key, agent_id, min(args.warmup, 10), 2, think=0, limit_secs=args.timeout,
                             label="warm-up", first=args.conversations + args.fanout_conversations)

        if args.conversations and args.messages:
            log(f"chat: {args.conversations} conversations x {args.messages} messages, first token after "
                f"{args.first_token_ms:g} ms…")
            loop_ms = python_loop_ms()
            before = own_cpu_secs(), cpu_secs(server.pid), cpu_secs(fake.pid)
            machine_before = cpu_times()
            chat_run = await chat_phase(port, key, agent_id, args.conversations, args.messages,
                                        think=args.think_ms / 1000, limit_secs=args.timeout, label="chat",
                                        jitter=args.think_jitter, seed=args.seed)
            after = own_cpu_secs(), cpu_secs(server.pid), cpu_secs(fake.pid)
            steal = steal_pct(machine_before, cpu_times())
            timings = fake_timings(fake_url)
            chat = chat_figures(chat_run, timings, first_token)
            if args.samples:
                write_samples(args.samples, chat_run, timings, first_token)
            chat["cpu_secs"] = {"server": round(after[1] - before[1], 2), "fake": round(after[2] - before[2], 2),
                                "clients": round(after[0] - before[0], 2)}
            chat["host_steal_pct"] = steal
            chat["python_loop_ms"] = loop_ms
            if chat_run.samples:
                chat["server_cpu_ms_per_message"] = round(
                    (after[1] - before[1]) * 1000 / len(chat_run.samples), 2)
            chat["target_met"] = (chat["errors"] == 0 and chat["added_ms"]["p95"] is not None
                                  and chat["added_ms"]["p95"] <= ADDED_P95_TARGET_MS)
            result["chat"] = chat
            log(f"  {describe(chat)}")
            if steal is not None and steal >= NOISY_HOST_STEAL_PCT:
                log(f"  note: the host took {steal}% of this machine's CPU during the phase; these latencies "
                    "measure the host more than convhub (run again when it is quieter)")

        if args.subscribers and args.fanout_conversations and args.fanout_messages:
            log(f"fan-out: {args.subscribers} subscribers, traffic {args.fanout_conversations} conversations x "
                f"{args.fanout_messages} messages…")
            fanout = await fanout_phase(port, key, agent_id, args)
            fanout["target_met"] = (fanout["all_delivered"] and fanout["delay_ms"]["p95"] is not None
                                    and fanout["delay_ms"]["p95"] <= DELIVERY_P95_TARGET_MS)
            result["fanout"] = fanout
            delay = fanout["delay_ms"]
            log(f"  delivered {fanout['delivered']:,} of {fanout['expected']:,} "
                f"({fanout['complete_subscribers']} of {fanout['subscribers']} subscribers got every event, "
                f"{fanout['lagged']} lagged); delay ms p50 {delay['p50']}, p95 {delay['p95']}, max {delay['max']}; "
                f"server CPU {fanout['cpu_secs']['server']} s")
            log(f"  the chat meanwhile: {describe(fanout['traffic'])}")
    return result


# ------------------------------------------------------------------ main


def record(r: dict[str, Any]) -> None:
    chat, fan = r.get("chat", {}), r.get("fanout", {})
    added, before, after = (chat.get(k, {}) for k in ("added_ms", "before_backend_ms", "after_first_token_ms"))
    delay, watched = fan.get("delay_ms", {}), fan.get("traffic", {}).get("added_ms", {})
    think = f", think {r['think_ms']:g} ms ±{r['think_jitter']:.0%}" if r["think_ms"] else ", closed loop"
    row = (
        f"| {r['date']} | {r['machine']} | {r['db']} | "
        f"{chat.get('conversations', '-')} x {r['messages']} @ {r['first_token_ms']:g} ms{think} | "
        f"{added.get('p50', '-')} / {added.get('p95', '-')} / {added.get('p99', '-')} / {added.get('max', '-')} "
        f"(before backend p95 {before.get('p95', '-')}, after first token p95 {after.get('p95', '-')}) | "
        f"{chat.get('errors', '-')} of {chat.get('messages', '-')}; {chat.get('messages_per_sec', '-')} msg/s, "
        f"whole reply p95 {chat.get('whole_reply_ms', {}).get('p95', '-')} ms, "
        f"server {chat.get('server_cpu_ms_per_message', '-')} ms CPU/msg, "
        f"host steal {chat.get('host_steal_pct', '-')}%, loop {chat.get('python_loop_ms', '-')} ms | "
        f"{fan.get('subscribers', '-')} subs x {fan.get('expected_per_subscriber', '-')} events "
        f"(chat meanwhile: added p95 {watched.get('p95', '-')} ms) | "
        f"{delay.get('p50', '-')} / {delay.get('p95', '-')} / {delay.get('max', '-')} | "
        f"{fan.get('delivered', '-')} of {fan.get('expected', '-')} | "
        f"{'met' if chat.get('target_met') else 'missed'} / {'met' if fan.get('target_met') else 'missed'} |"
    )
    head = ("| date | machine | db | chat | added ms to first chunk p50 / p95 / p99 / max | errors; rate | "
            "fan-out | delivery ms p50 / p95 / max | delivered | targets (chat / fan-out) |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    append_row("## bench/chat.py", head, row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200, help="concurrent conversations (phase 1)")
    parser.add_argument("--messages", type=int, default=10, help="messages each conversation sends (phase 1)")
    parser.add_argument("--first-token-ms", type=float, default=20.0, help="the fake backend's time to first token")
    parser.add_argument("--think-ms", type=float, default=5000.0,
                        help="pause between a reply's done and the next message (0: a closed loop)")
    parser.add_argument("--think-jitter", type=float, default=0.5,
                        help="each pause is drawn uniformly from think x (1 +- this)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the pauses")
    parser.add_argument("--subscribers", type=int, default=500, help="GET /v1/events watchers (phase 2); 0: skip")
    parser.add_argument("--fanout-conversations", type=int, default=None,
                        help="conversations whose events are fanned out (default: --conversations)")
    parser.add_argument("--fanout-messages", type=int, default=None,
                        help="messages each of them sends (default: --messages)")
    parser.add_argument("--fanout-think-ms", type=float, default=0.0,
                        help="the fan-out traffic's pause between messages (default 0: as fast as the server "
                        "answers, the most events per second)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="conversations sending 2 messages each, untimed, before phase 1 (at most 10)")
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres (a fresh database on the local server), "
                        "or a SQLAlchemy async URL of an empty database")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a streamed message may take")
    parser.add_argument("--settle-secs", type=float, default=10.0,
                        help="after the traffic, how long the subscribers wait for missing events")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/convhub-bench-chat"))
    parser.add_argument("--profile", type=Path, help="run the server under cProfile, writing its stats here")
    parser.add_argument("--no-record", action="store_true", help="do not append to docs/benchmarks.md")
    parser.add_argument("--samples", type=Path,
                        help="write each chat message's timings here (CSV, ms since the phase began), to see when "
                        "the slow ones happened")
    args = parser.parse_args()
    if args.fanout_conversations is None:
        args.fanout_conversations = args.conversations
    if args.fanout_messages is None:
        args.fanout_messages = args.messages
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        figures = runner.run(run(args))
    result: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(), "machine": machine(), "conversations": args.conversations,
        "messages": args.messages, "first_token_ms": args.first_token_ms, "think_ms": args.think_ms,
        "think_jitter": args.think_jitter,
        "subscribers": args.subscribers, **figures,
        "targets": {"added_p95_ms": ADDED_P95_TARGET_MS, "delivery_p95_ms": DELIVERY_P95_TARGET_MS},
    }
    result["targets_met"] = bool(result.get("chat", {}).get("target_met") and
                                 result.get("fanout", {}).get("target_met"))
    if not args.no_record:
        record(result)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
