"""What every provider simulator shares: options, the conversation store, limits, faults, a runner.

A simulator is a FastAPI app that speaks one vendor's API on loopback (see
``simulators/elevenlabs.py``, ``retell.py``, ``vapi.py``). Each vendor module
supplies a :class:`SimulatedVendor` — how to generate, identify, finish and
sign its conversations, and its API routes — and :func:`build_simulator` adds
the rest, the same for all three:

* per-request latency, a concurrency cap answered with 429 + ``Retry-After``,
  and faults at a given rate (500/503, a hung request, a truncated JSON body);
* ``/_simulator/*`` control routes (never faulted or limited): ``GET stats``
  (requests by kind, 429s, faults), ``POST add`` (new conversations),
  ``POST finish`` (every open conversation ends and gets its analysis),
  ``POST webhooks`` (send correctly signed webhooks to a URL);
* :class:`SimulatorServer` runs one in a background thread (tests, demo, bench).

Nothing here touches the internet; the data is generated from a seed.
"""

from __future__ import annotations

import asyncio
import importlib
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

VENDORS = ("elevenlabs", "retell", "vapi")
OPEN_WINDOW_SECS = 30 * 60  # conversations older than this are always final in a simulated account

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class SimulatorOptions:
    conversations: int = 50
    latency_ms: float = 0.0
    max_concurrency: int = 0  # 0: no cap
    fault_rate: float = 0.0
    seed: int = 0
    api_key: str = "sim-key"  # the credential the simulated API accepts
    agents: int = 5
    span_days: int = 30
    timeout_hold_secs: float = 30.0  # how long a "timeout" fault holds the request
    retry_after_secs: float = 1.0
    public_url: str = ""  # set by the runner: absolute links (recording URLs) point here
    start: datetime | None = None  # the initial conversations start after this (default: span_days ago)

    def __post_init__(self) -> None:
        if self.conversations < 0:
            raise ValueError("conversations must not be negative")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        if self.latency_ms < 0 or self.max_concurrency < 0:
            raise ValueError("latency_ms and max_concurrency must not be negative")


class SimulatedVendor(Protocol):
    """One vendor's shapes; the simulator machinery is the same for all."""

    name: str

    def generate(self, index: int, *, seed: int, agents: int, start: datetime, span_days: int) -> dict[str, Any]:
        """The ``index``-th conversation object, as the vendor's get endpoint returns it."""
        ...

    def conversation_id(self, conversation: dict[str, Any]) -> str: ...

    def started_ms(self, conversation: dict[str, Any]) -> int:
        """Start (or creation) time in Unix milliseconds: the list order, newest first."""
        ...

    def is_final(self, conversation: dict[str, Any]) -> bool: ...

    def finish(self, conversation: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The same conversation after it ended and was analysed (a changed object)."""
        ...

    def webhook_deliveries(
        self, conversation: dict[str, Any], secret: str, now: datetime
    ) -> list[tuple[dict[str, str], bytes]]:
        """(headers, raw body) of each webhook the vendor sends for this conversation, signed with ``secret``."""
        ...

    def is_binary(self, path: str) -> bool:
        """Whether ``path`` answers with audio (a "malformed body" fault skips those)."""
        ...

    def routes(self, store: SimulatorStore) -> APIRouter:
        """The vendor API over ``store``."""
        ...


class SimulatorStore:
    """The simulated account: conversations by id, newest first, plus request statistics."""

    def __init__(self, vendor: SimulatedVendor, options: SimulatorOptions) -> None:
        self.vendor = vendor
        self.options = options
        self.rng = random.Random(f"convhub-sim/{vendor.name}/{options.seed}")
        self.stats: Counter[str] = Counter()
        self.active = 0
        self.deleted: set[str] = set()
        start = options.start or datetime.now(UTC).replace(microsecond=0) - timedelta(days=options.span_days)
        self._next_index = 0
        self.by_id: dict[str, dict[str, Any]] = {}
        self._ordered: list[dict[str, Any]] | None = None
        self.add(options.conversations, start=start, span_days=options.span_days)

    def add(self, count: int, *, start: datetime | None = None, span_days: int = 0) -> list[dict[str, Any]]:
        """Generate ``count`` more conversations (by default starting now: newer than all others)."""
        start = start or datetime.now(UTC).replace(microsecond=0)
        added = []
        for _ in range(count):
            conv = self.vendor.generate(
                self._next_index, seed=self.options.seed, agents=self.options.agents, start=start,
                span_days=span_days,
            )
            self._next_index += 1
            started_ms = self.vendor.started_ms(conv)
            if not self.vendor.is_final(conv) and started_ms < (time.time() - OPEN_WINDOW_SECS) * 1000:
                # Calls are under way only recently: an old one has long ended (ten minutes after it began).
                conv = self.vendor.finish(conv, datetime.fromtimestamp(started_ms / 1000 + 600, UTC))
            self.by_id[self.vendor.conversation_id(conv)] = conv
            added.append(conv)
        self._ordered = None
        return added

    def ordered(self) -> list[dict[str, Any]]:
        """Every conversation, newest first (ties broken by id, descending)."""
        if self._ordered is None:
            self._ordered = sorted(
                self.by_id.values(),
                key=lambda c: (self.vendor.started_ms(c), self.vendor.conversation_id(c)),
                reverse=True,
            )
        return self._ordered

    def get(self, conversation_id: str) -> dict[str, Any] | None:
        return self.by_id.get(conversation_id)

    def delete(self, conversation_id: str) -> bool:
        if self.by_id.pop(conversation_id, None) is None:
            return False
        self.deleted.add(conversation_id)
        self._ordered = None
        return True

    def finish_open(self) -> int:
        now = datetime.now(UTC).replace(microsecond=0)
        finished = 0
        for cid, conv in list(self.by_id.items()):
            if not self.vendor.is_final(conv):
                self.by_id[cid] = self.vendor.finish(conv, now)
                finished += 1
        self._ordered = None
        return finished

    def count(self, kind: str) -> None:
        self.stats[kind] += 1


def require_key(request: Request, presented: str | None) -> JSONResponse | None:
    """401 in a plain shape when the presented credential is not the simulator's key."""
    store: SimulatorStore = request.app.state.store
    if presented != store.options.api_key:
        return JSONResponse({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, 401)
    return None


# ------------------------------------------------------------------ limits and faults


class _Limits:
    """Pure ASGI middleware: concurrency cap, latency, faults. Control routes pass untouched."""

    def __init__(self, app: ASGIApp, store: SimulatorStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_simulator"):
            await self.app(scope, receive, send)
            return
        store, options = self.store, self.store.options
        store.count("requests")
        if options.max_concurrency and store.active >= options.max_concurrency:
            store.count("rate_limited")
            await _send_json(send, 429, b'{"detail":{"status":"too_many_concurrent_requests",'
                             b'"message":"Too many concurrent requests"}}',
                             [(b"retry-after", str(options.retry_after_secs).encode())])
            return
        store.active += 1
        try:
            if options.latency_ms:
                await asyncio.sleep(options.latency_ms / 1000)
            if options.fault_rate and store.rng.random() < options.fault_rate:
                await self._fault(scope, send)
                return
            await self.app(scope, receive, send)
        finally:
            store.active -= 1

    async def _fault(self, scope: Scope, send: Send) -> None:
        store = self.store
        kinds = ["500", "503", "timeout"]
        if not store.vendor.is_binary(scope["path"]):
            kinds.append("malformed")
        kind = store.rng.choice(kinds)
        store.count(f"fault_{kind}")
        store.count("faults")
        if kind == "timeout":
            await asyncio.sleep(store.options.timeout_hold_secs)
            await _send_json(send, 504, b'{"detail":"gateway timeout"}')
        elif kind == "malformed":
            await _send_json(send, 200, b'{"conversations": [{"conversation_id": "trunc')
        else:
            await _send_json(send, int(kind), b'{"detail":{"status":"internal_error","message":"simulated fault"}}')


async def _send_json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------ control routes


class AddRequest(BaseModel):
    count: int = Field(default=1, ge=1, le=100_000)


class WebhookRequest(BaseModel):
    url: str
    secret: str
    conversation_ids: list[str] | None = None  # default: every final conversation
    limit: int | None = Field(default=None, ge=1)


def _control_router(store: SimulatorStore) -> APIRouter:
    router = APIRouter(prefix="/_simulator", include_in_schema=False)

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return {"conversations": len(store.by_id), "active": store.active, **store.stats}

    @router.post("/add")
    async def add(body: AddRequest) -> dict[str, Any]:
        added = store.add(body.count)
        return {"added": [store.vendor.conversation_id(c) for c in added]}

    @router.post("/finish")
    async def finish() -> dict[str, int]:
        return {"finished": store.finish_open()}

    @router.post("/webhooks")
    async def webhooks(body: WebhookRequest) -> dict[str, Any]:
        return await send_webhooks(store, body.url, body.secret, body.conversation_ids, body.limit)

    return router


async def send_webhooks(
    store: SimulatorStore, url: str, secret: str, conversation_ids: list[str] | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """POST each selected conversation's signed webhooks to ``url``; counts of answers by status."""
    if conversation_ids is None:
        chosen = [c for c in store.ordered() if store.vendor.is_final(c)]
    else:
        chosen = [c for cid in conversation_ids if (c := store.get(cid)) is not None]
    chosen = chosen[:limit] if limit else chosen
    statuses: Counter[str] = Counter()
    now = datetime.now(UTC)
    async with httpx.AsyncClient(timeout=30) as client:
        for conv in chosen:
            for headers, raw in store.vendor.webhook_deliveries(conv, secret, now):
                response = await client.post(url, content=raw, headers={"content-type": "application/json", **headers})
                statuses[str(response.status_code)] += 1
    return {"conversations": len(chosen), "responses": dict(statuses)}


# ------------------------------------------------------------------ building and running


def load_vendor(name: str) -> SimulatedVendor:
    if name not in VENDORS:
        raise ValueError(f"unknown simulator {name!r}; choose one of {', '.join(VENDORS)}")
    module = importlib.import_module(f"convhub.simulators.{name}")
    vendor: SimulatedVendor = module.VENDOR
    return vendor


def build_simulator(name: str, options: SimulatorOptions) -> FastAPI:
    vendor = load_vendor(name)
    store = SimulatorStore(vendor, options)
    app = FastAPI(title=f"convhub {name} simulator", docs_url=None, redoc_url=None)
    app.state.store = store
    app.include_router(_control_router(store))
    app.include_router(vendor.routes(store))
    app.add_middleware(_Limits, store=store)
    return app


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class SimulatorServer:
    """One simulator on loopback in a background thread: ``with SimulatorServer("retell") as sim: sim.url``."""

    def __init__(self, name: str, options: SimulatorOptions | None = None, *, host: str = "127.0.0.1",
                 port: int | None = None) -> None:
        self.name = name
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.options = options or SimulatorOptions()
        self.options.public_url = self.options.public_url or self.url
        self.app = build_simulator(name, self.options)
        self.store: SimulatorStore = self.app.state.store
        self._server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=self.port, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name=f"sim-{name}", daemon=True)

    def start(self) -> SimulatorServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self.name} simulator did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_simulator(name: str, options: SimulatorOptions, *, host: str = "127.0.0.1", port: int = 8900) -> None:
    """Run one simulator in the foreground (``convhub simulate``) until interrupted."""
    options.public_url = options.public_url or f"http://{host}:{port}"
    uvicorn.run(build_simulator(name, options), host=host, port=port, log_level="warning")
