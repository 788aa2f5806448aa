"""The event bus behind live monitoring: what happened in a workspace, fanned out to whoever watches it.

Domains publish after the commit that made a change visible (``turn.added``,
``conversation.status``, a takeover, sync progress); ``GET /v1/events`` streams
a workspace's events to operators, who resume after a dropped connection with
the id of the last event they saw (``Last-Event-ID``).

Two implementations behind one protocol, chosen by configuration alone
(:func:`build_bus`):

- :class:`InProcessBus` (embedded default): a ring buffer of the last events of
  each workspace for resuming, and a fan-out to this process's subscribers.
- :class:`RedisBus` (``CONVHUB_REDIS_URL``), so N convhub processes share
  events. A publish runs one Lua script that appends the event to the
  workspace's capped Redis Stream (``XADD MAXLEN ~ 1000``; the stream id *is*
  the event id) and PUBLISHes it on a channel of the same name. Being one
  script, the stream and the channel see events in the same order, so a
  subscriber never has to reorder. Each process holds a single pattern
  subscription that feeds the same local fan-out, however many subscribers it
  has; resuming reads the stream (``XRANGE``), so it works whichever process
  the client reconnects to. If the pub/sub connection drops, redis-py
  reconnects and re-subscribes, and the events published meanwhile are read
  back from the streams of the workspaces being watched, so none is lost.

Both number events ``<milliseconds>-<sequence>`` (Redis' stream id format):
they sort by time, are unique per workspace, and compare the same way in
both buses.

A subscriber that cannot keep up never slows a publisher: its queue is
bounded, and when it fills, the subscriber is detached and, after the events it
already holds, gets a final ``stream.lagged`` event whose id is the last event
it received, so reconnecting with that id resumes exactly where it fell behind.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal, Protocol, cast, get_args

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from convhub.config import Settings
from convhub.kit.time import utcnow

logger = logging.getLogger(__name__)

# What domains publish. Filtering on anything else is a client error (422), so a
# new event type is added here first.
EventType = Literal["turn.added", "conversation.status", "conversation.takeover", "conversation.release",
                    "sync.progress"]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))
# Sent by the bus itself, never published: the subscriber fell behind and its stream ends.
LAGGED = "stream.lagged"

BUFFER_SIZE = 1000  # events kept per workspace for resuming
QUEUE_SIZE = 1000  # events a subscriber may have waiting before it counts as lagging
RETRY_MIN_SECS, RETRY_MAX_SECS = 0.5, 30.0  # reconnecting to Redis after the subscription connection drops

_EVENT_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")
EVENT_ID_PATTERN = r"^\d{1,20}(-\d{1,20})?$"

EventKey = tuple[int, int]


class BusUnavailable(RuntimeError):
    """The bus cannot carry events (Redis does not answer); the message says where, for an operator to act on."""


def parse_event_id(value: str) -> EventKey:
    """``"<ms>-<seq>"`` (or ``"<ms>"``) as a comparable pair; ``ValueError`` when it is neither."""
    match = _EVENT_ID.fullmatch(value)
    if match is None:
        raise ValueError(f"not an event id: {value!r} (expected <milliseconds>-<sequence>)")
    return int(match[1]), int(match[2] or 0)


@dataclass(frozen=True)
class Event:
    """One thing that happened in a workspace."""

    id: str
    workspace_id: str
    type: str
    data: Mapping[str, Any]
    at: datetime
    conversation_id: str | None = None

    @cached_property
    def key(self) -> EventKey:
        return parse_event_id(self.id)

    def public(self) -> dict[str, Any]:
        """What subscribers see: the workspace is implied by who asks."""
        return {"id": self.id, "type": self.type, "conversation_id": self.conversation_id,
                "at": self.at, "data": self.data}

    @cached_property
    def json(self) -> bytes:
        # Encoded once per event, however many subscribers it goes to.
        return orjson.dumps(self.public())


class EventBus(Protocol):
    async def publish(self, workspace_id: str, type: str, data: Mapping[str, Any], *,
                      conversation_id: str | None = None) -> Event:
        """Announce ``type`` in ``workspace_id``; call it after the commit that made the change visible.

        Never raises because delivery failed: the change has already happened, and
        failing the caller would only invite a duplicate retry. A lost event is logged.
        """
        ...

    def subscribe(self, workspace_id: str, *, after: str | None = None, types: Iterable[str] | None = None,
                  conversation_id: str | None = None) -> Subscription:
        """The workspace's events, live from this call on; first those after ``after`` when given.

        Registration happens now, not on the first iteration, so nothing published
        after this returns is missed. Close the subscription (``async with`` or
        ``aclose()``) when done.
        """
        ...

    def subscriber_count(self, workspace_id: str | None = None) -> int: ...

    async def check(self) -> None:
        """Raise when the bus cannot carry events now (readiness)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


ReplayFn = Callable[[str, str], Awaitable[list[Event]]]  # (workspace_id, after) -> events after it, oldest first


class Subscription:
    """One watcher's view of a workspace: replayed events, then live ones, filtered, never twice."""

    def __init__(self, workspace_id: str, *, after: str | None, types: Iterable[str] | None,
                 conversation_id: str | None, replay: ReplayFn, detach: Callable[[Subscription], None],
                 queue_size: int = QUEUE_SIZE) -> None:
        self.workspace_id = workspace_id
        self.types = frozenset(types) if types else None
        self.conversation_id = conversation_id
        self._cursor: EventKey | None = parse_event_id(after) if after is not None else None
        self._last_id = after
        self._replay: ReplayFn | None = replay if after is not None else None
        self._detach = detach
        self._pending: deque[Event] = deque()
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(queue_size)
        self._lagging = False
        self._closed = False

    def matches(self, event: Event) -> bool:
        return ((self.types is None or event.type in self.types)
                and (self.conversation_id is None or event.conversation_id == self.conversation_id))

    def offer(self, event: Event) -> bool:
        """Queue ``event`` without waiting; False when the queue is full and this subscriber is now lagging."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._lagging = True
            return False
        return True

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._replay is not None and self._last_id is not None:
                replayed = await self._replay(self.workspace_id, self._last_id)
                self._replay = None  # only once fetched: a cancelled fetch is retried
                self._pending.extend(e for e in replayed if self.matches(e))
            if self._pending:
                event: Event | None = self._pending.popleft()
            elif not self._queue.empty():
                event = self._queue.get_nowait()
            elif self._lagging:
                await self.aclose()
                return self._lagged()
            else:
                event = await self._queue.get()
            if event is None:  # closed while waiting
                raise StopAsyncIteration
            if self._accept(event):
                return event

    def _accept(self, event: Event) -> bool:
        """Whether ``event`` is new to this subscriber (moving the cursor past it). Replay and live delivery
        overlap by design; the cursor keeps each event to one delivery."""
        if self._cursor is not None and event.key <= self._cursor:
            return False
        self._cursor, self._last_id = event.key, event.id
        return True

    def next_nowait(self) -> Event | None:
        """The next event if it is here already (so a writer can batch what is queued); None when getting one
        would mean waiting, or when only :meth:`__anext__` can tell (a replay to fetch, a lag to report)."""
        if self._closed or self._replay is not None or self._lagging:
            return None
        while self._pending or not self._queue.empty():
            event = self._pending.popleft() if self._pending else self._queue.get_nowait()
            if event is None:  # closed
                return None
            if self._accept(event):
                return event
        return None

    def _lagged(self) -> Event:
        last = self._last_id or "0-0"
        return Event(id=last, workspace_id=self.workspace_id, type=LAGGED, at=utcnow(), data={
            "message": "This subscriber fell behind and was disconnected; reconnect with Last-Event-ID to resume.",
            "resume_after": last,
        })

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._detach(self)
        if not self._queue.full():
            self._queue.put_nowait(None)  # wakes a consumer waiting on an empty queue

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@dataclass
class _Fanout:
    """This process's subscribers by workspace; delivery never waits on any of them."""

    queue_size: int = QUEUE_SIZE
    subscribers: dict[str, set[Subscription]] = field(default_factory=lambda: defaultdict(set))

    def subscribe(self, workspace_id: str, after: str | None, types: Iterable[str] | None,
                  conversation_id: str | None, replay: ReplayFn) -> Subscription:
        unknown = set(types or ()) - EVENT_TYPES
        if unknown:
            raise ValueError(f"unknown event types: {sorted(unknown)}")
        subscription = Subscription(workspace_id, after=after, types=types, conversation_id=conversation_id,
                                    replay=replay, detach=self.detach, queue_size=self.queue_size)
        self.subscribers[workspace_id].add(subscription)
        return subscription

    def detach(self, subscription: Subscription) -> None:
        subs = self.subscribers.get(subscription.workspace_id)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self.subscribers[subscription.workspace_id]

    def deliver(self, event: Event) -> None:
        subs = self.subscribers.get(event.workspace_id)
        if not subs:
            return
        lagging = [s for s in subs if s.matches(event) and not s.offer(event)]
        for subscription in lagging:
            self.detach(subscription)

    def count(self, workspace_id: str | None) -> int:
        if workspace_id is not None:
            return len(self.subscribers.get(workspace_id, ()))
        return sum(len(s) for s in self.subscribers.values())

    async def close(self) -> None:
        for subs in list(self.subscribers.values()):
            for subscription in list(subs):
                await subscription.aclose()


def _check_publish(type: str, data: Mapping[str, Any]) -> None:
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}; add it to convhub.live.bus.EventType")
    orjson.dumps(data)  # not JSON-serializable: fail in the publisher, not in every subscriber


class _Clock:
    """``<ms>-<seq>`` ids, strictly increasing within this process even when the wall clock stalls."""

    def __init__(self) -> None:
        self._ms = 0
        self._seq = 0

    def next_id(self) -> str:
        ms = time.time_ns() // 1_000_000
        if ms > self._ms:
            self._ms, self._seq = ms, 0
        else:
            self._seq += 1
        return f"{self._ms}-{self._seq}"


class InProcessBus:
    """Events for the subscribers of this process only: the embedded default."""

    def __init__(self, *, buffer_size: int = BUFFER_SIZE, queue_size: int = QUEUE_SIZE) -> None:
        self._buffers: dict[str, deque[Event]] = defaultdict(lambda: deque(maxlen=buffer_size))
        self._fanout = _Fanout(queue_size)
        self._clock = _Clock()

    async def publish(self, workspace_id: str, type: str, data: Mapping[str, Any], *,
                      conversation_id: str | None = None) -> Event:
        _check_publish(type, data)
        event = Event(id=self._clock.next_id(), workspace_id=workspace_id, type=type, data=dict(data),
                      at=utcnow(), conversation_id=conversation_id)
        self._buffers[workspace_id].append(event)
        self._fanout.deliver(event)
        return event

    def subscribe(self, workspace_id: str, *, after: str | None = None, types: Iterable[str] | None = None,
                  conversation_id: str | None = None) -> Subscription:
        return self._fanout.subscribe(workspace_id, after, types, conversation_id, self._replay)

    async def _replay(self, workspace_id: str, after: str) -> list[Event]:
        floor = parse_event_id(after)
        return [e for e in self._buffers.get(workspace_id, ()) if e.key > floor]

    def subscriber_count(self, workspace_id: str | None = None) -> int:
        return self._fanout.count(workspace_id)

    async def check(self) -> None:
        return None  # in memory: it carries events as long as the process runs

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        await self._fanout.close()


# KEYS[1]: the workspace's stream. ARGV: channel, max length, retention ms, event body.
_PUBLISH_SCRIPT = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[4])
return id
"""


class RedisBus:
    """Events shared by every convhub process on one Redis: a capped stream and a channel per workspace.

    Keys and channels are named ``convhub:<db>:events:<workspace_id>``: pub/sub
    ignores Redis' database numbers, so the number is in the name, and two
    deployments on different databases of one server never see each other's
    events. A workspace's stream expires after ``retention`` without events.
    """

    def __init__(self, url: str, *, prefix: str | None = None, buffer_size: int = BUFFER_SIZE,
                 queue_size: int = QUEUE_SIZE, retention: timedelta = timedelta(days=1),
                 client_name: str = "convhub-events") -> None:
        self._redis = Redis.from_url(url, decode_responses=True, client_name=client_name,
                                     health_check_interval=30, socket_keepalive=True)
        kwargs = self._redis.connection_pool.connection_kwargs
        self._where = f"{kwargs.get('host', kwargs.get('path', '?'))}:{kwargs.get('port', '')}"
        self._prefix = prefix or f"convhub:{kwargs.get('db', 0)}:events"
        self._buffer_size = buffer_size
        self._retention_ms = int(retention.total_seconds() * 1000)
        self._script = self._redis.register_script(_PUBLISH_SCRIPT)
        self._fanout = _Fanout(queue_size)
        self._pubsub = self._redis.pubsub()
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._last_seen: dict[str, EventKey] = {}  # per workspace: dedupes what a gap fill reads twice
        self._healthy_since_ms = 0  # Redis time when the pub/sub connection last (re)subscribed
        self._fallback_clock = _Clock()

    def _key(self, workspace_id: str) -> str:
        return f"{self._prefix}:{workspace_id}"

    @staticmethod
    def _encode(workspace_id: str, type: str, data: Mapping[str, Any], conversation_id: str | None,
                at: datetime) -> str:
        body = {"workspace_id": workspace_id, "type": type, "conversation_id": conversation_id, "data": data,
                "at": at}
        return orjson.dumps(body).decode()

    @staticmethod
    def _decode(event_id: str, body: str) -> Event:
        fields = orjson.loads(body)
        return Event(id=event_id, workspace_id=fields["workspace_id"], type=fields["type"], data=fields["data"],
                     at=datetime.fromisoformat(fields["at"]), conversation_id=fields.get("conversation_id"))

    async def publish(self, workspace_id: str, type: str, data: Mapping[str, Any], *,
                      conversation_id: str | None = None) -> Event:
        _check_publish(type, data)
        at = utcnow()
        body = self._encode(workspace_id, type, data, conversation_id, at)
        key = self._key(workspace_id)
        try:
            event_id = await self._script(keys=[key], args=[key, self._buffer_size, self._retention_ms, body])
        except RedisError as exc:
            logger.warning("event %s of workspace %s lost: Redis at %s failed: %r",
                           type, workspace_id, self._where, exc)
            event_id = self._fallback_clock.next_id()
        return Event(id=str(event_id), workspace_id=workspace_id, type=type, data=dict(data), at=at,
                     conversation_id=conversation_id)

    def subscribe(self, workspace_id: str, *, after: str | None = None, types: Iterable[str] | None = None,
                  conversation_id: str | None = None) -> Subscription:
        return self._fanout.subscribe(workspace_id, after, types, conversation_id, self._replay)

    async def _read(self, workspace_id: str, after: str) -> list[Event]:
        # decode_responses=True: ids and fields come back as str, which redis-py's types cannot express.
        entries = cast(list[tuple[str, dict[str, str]]],
                       await self._redis.xrange(self._key(workspace_id), f"({after}", "+"))
        return [self._decode(entry_id, fields["e"]) for entry_id, fields in entries]

    async def _replay(self, workspace_id: str, after: str) -> list[Event]:
        try:
            return await self._read(workspace_id, after)
        except RedisError as exc:
            logger.warning("cannot replay events of workspace %s from Redis at %s: %r", workspace_id, self._where, exc)
            return []

    def _deliver(self, event: Event) -> None:
        seen = self._last_seen.get(event.workspace_id)
        if seen is not None and event.key <= seen:
            return
        self._last_seen[event.workspace_id] = event.key
        self._fanout.deliver(event)

    async def _fill_gaps(self) -> None:
        """After a reconnect: what the watched workspaces' streams got while the channel was deaf."""
        floor = f"{self._healthy_since_ms}-0"
        for workspace_id in list(self._fanout.subscribers):
            seen = self._last_seen.get(workspace_id)
            after = f"{seen[0]}-{seen[1]}" if seen is not None else floor
            for event in await self._read(workspace_id, after):
                self._deliver(event)

    async def _on_subscribed(self) -> None:
        if self._subscribed.is_set():
            await self._fill_gaps()
        secs, micros = await self._redis.time()
        self._healthy_since_ms = secs * 1000 + micros // 1000
        self._subscribed.set()

    async def _listen(self) -> None:
        backoff = RETRY_MIN_SECS
        while True:
            try:
                # Reading reconnects a dropped connection, and redis-py then subscribes again.
                message = await self._pubsub.get_message(timeout=30)
                if message is None:
                    continue
                if message["type"] == "psubscribe":
                    await self._on_subscribed()
                    backoff = RETRY_MIN_SECS
                elif message["type"] == "pmessage":
                    event_id, _, body = message["data"].partition(" ")
                    self._deliver(self._decode(event_id, body))
            except RedisError as exc:
                logger.warning("event subscription to Redis at %s interrupted: %r; retrying in %.1f s",
                               self._where, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RETRY_MAX_SECS)
            except Exception:  # a malformed message must not end live events for the whole process
                logger.exception("cannot handle an event message from Redis")

    def subscriber_count(self, workspace_id: str | None = None) -> int:
        return self._fanout.count(workspace_id)

    async def check(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise BusUnavailable(f"Redis at {self._where} does not answer: {exc.__class__.__name__}") from exc
        if self._listener is None or self._listener.done():
            raise BusUnavailable("the Redis event listener is not running")

    async def start(self) -> None:
        """Subscribe before returning, so an event published from now on reaches this process."""
        try:
            await self._pubsub.psubscribe(f"{self._prefix}:*")
        except RedisError as exc:
            raise BusUnavailable(f"CONVHUB_REDIS_URL is set but Redis at {self._where} does not answer: {exc}") from exc
        self._listener = asyncio.create_task(self._listen(), name="convhub-events")
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def close(self) -> None:
        await self._fanout.close()
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        await self._pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # unannotated before redis-py 8
        await self._redis.aclose()


def build_bus(settings: Settings) -> EventBus:
    """Redis when ``CONVHUB_REDIS_URL`` is set, so processes share events; else this process only."""
    if settings.redis_url:
        return RedisBus(settings.redis_url)
    return InProcessBus()
