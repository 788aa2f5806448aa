"""Processing stored webhook events into conversations, in batches, in delivery order.

Events are taken oldest first. Per conversation, each event's vendor object is
folded into what is stored (``webhooks.merge`` of the provider: a late, earlier
stage event only fills gaps and never moves the status back), mapped, and filed
through the one ingest path. Audio carried by an event is streamed to the blob
store under the conversation's provider audio key and attached as soon as the
conversation exists (now, or when its transcript event arrives later).

An event that cannot be processed is retried on the next pass up to
``MAX_ATTEMPTS`` times, then left ``failed`` with its error for an operator.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from convhub.agents.repository import AgentRepository
from convhub.connections.repository import ConnectionLookup
from convhub.conversations.ingest import ingest_many
from convhub.conversations.repository import ConversationRepository
from convhub.conversations.schemas import ConversationIn
from convhub.db import Database
from convhub.jobs.runner import JobRunner
from convhub.kit.time import utcnow
from convhub.kit.uow import writer_turn
from convhub.models import WebhookEvent
from convhub.providers.base import MappingError, WebhookRejected
from convhub.providers.registry import build_mapper, webhooks_module
from convhub.storage.base import BlobStore
from convhub.storage.keys import provider_audio_key
from convhub.webhooks.repository import WebhookEventRepository

log = logging.getLogger("convhub.webhooks")

BATCH = 100
BUSY_BATCH = 20  # while deliveries pour in: a batch holds SQLite's one writer's turn, and intake waits
MAX_ATTEMPTS = 3


async def _decoded(data: str) -> AsyncIterator[bytes]:
    # Decode in slices so a long recording is never held twice (text and bytes) at once.
    step = 4 * 64 * 1024
    for start in range(0, len(data), step):
        yield base64.b64decode(data[start : start + step], validate=False)


async def process_pending(database: Database, blobs: BlobStore, *, limit: int = BATCH) -> int:
    """Process up to ``limit`` pending events; how many were taken (0: nothing left)."""
    async with database.session() as session:
        events = await WebhookEventRepository(session).pending(limit, MAX_ATTEMPTS)
    if not events:
        return 0
    groups: dict[tuple[str, str, str], list[WebhookEvent]] = defaultdict(list)
    for event in events:
        groups[(event.workspace_id, event.connection_id, event.provider)].append(event)
    for (workspace_id, _connection_id, provider), group in groups.items():
        await _process_group(database, blobs, workspace_id, provider, group)
    return len(events)


async def _process_group(
    database: Database, blobs: BlobStore, workspace_id: str, provider: str, events: list[WebhookEvent]
) -> None:
    module = webhooks_module(provider)
    mapper = build_mapper(provider)
    outcome: dict[int, dict[str, Any]] = {}
    parsed = []
    for event in events:
        try:
            parsed.append((event, module.parse(event.body)))
        except WebhookRejected as exc:
            outcome[event.id] = _failed(event, exc.message)
    pids = sorted({p.provider_conversation_id for _, p in parsed if p.provider_conversation_id})
    async with database.session() as session:
        stored = await ConversationRepository(session, workspace_id).stored_raw(provider, pids)
        connection = await ConnectionLookup(session).get(events[0].connection_id)
        known = await AgentRepository(session, workspace_id).known_provider_ids(provider)
    skip_unknown = connection is not None and connection.unknown_agents == "skip"

    merged: dict[str, dict[str, Any]] = {}
    events_of: dict[str, list[WebhookEvent]] = defaultdict(list)
    audio_keys: dict[str, str] = {}
    for event, parsed_event in parsed:
        pid = parsed_event.provider_conversation_id
        try:
            if parsed_event.audio_base64 and pid:
                audio_keys[pid] = provider_audio_key(workspace_id, provider, pid)
                await blobs.put(audio_keys[pid], _decoded(parsed_event.audio_base64))
            if pid is None:
                outcome[event.id] = _done()
                continue
            current = merged.get(pid) or (stored[pid][1] if pid in stored else None)
            folded = module.merge(current, parsed_event)
            if folded is not None:
                merged[pid] = folded
            events_of[pid].append(event)
        except (binascii.Error, ValueError, OSError) as exc:
            outcome[event.id] = _failed(event, f"{exc.__class__.__name__}: {exc}")

    conversations: list[ConversationIn] = []
    merged_audio: dict[str, bool] = {}  # the vendor says a recording exists: look for one that came early
    for pid, obj in merged.items():
        try:
            conv = mapper(obj)
        except MappingError as exc:
            for event in events_of.pop(pid, []):
                outcome[event.id] = _failed(event, str(exc))
            continue
        if skip_unknown and conv.agent.provider_agent_id not in known:
            for event in events_of.pop(pid, []):
                outcome[event.id] = _done(status="skipped", error="unknown agent (the connection skips them)")
            continue
        conversations.append(conv)
        merged_audio[pid] = conv.has_audio

    ids: dict[str, str] = {}
    async with database.session() as session:
        await writer_turn(session)
        try:
            results = await ingest_many(session, workspace_id, conversations)
        except Exception as exc:  # refused as a batch: retry these events one pass later, alone if need be
            log.warning("webhook batch refused: %s", exc)
            results = []
            await session.rollback()
            for conv in conversations:
                for event in events_of.pop(conv.provider_conversation_id, []):
                    outcome[event.id] = _failed(event, f"{exc.__class__.__name__}: {exc}")
            conversations = []
        for conv, result in zip(conversations, results, strict=True):
            ids[conv.provider_conversation_id] = result.conversation_id
        ids.update({pid: row[0] for pid, row in stored.items() if pid not in ids})
        # Audio that arrived now, or earlier than its conversation: attach where the conversation exists.
        attach = {}
        for pid, conversation_id in ids.items():
            key = audio_keys.get(pid)
            has_audio = pid in merged and merged_audio.get(pid, False)
            if key is None and has_audio and not (pid in stored and stored[pid][2]):
                candidate = provider_audio_key(workspace_id, provider, pid)
                key = candidate if await blobs.exists(candidate) else None
            if key is not None:
                attach[conversation_id] = key
        await ConversationRepository(session, workspace_id).set_audio(attach)
        for pid, pid_events in events_of.items():
            for event in pid_events:
                outcome.setdefault(event.id, _done(conversation_id=ids.get(pid)))
        for event, parsed_event in parsed:
            pid = parsed_event.provider_conversation_id
            outcome.setdefault(event.id, _done(conversation_id=ids.get(pid) if pid else None))
        await WebhookEventRepository(session).mark(list(outcome.items()))


def _done(*, status: str = "processed", conversation_id: str | None = None, error: str | None = None) -> dict[str, Any]:
    return {"status": status, "conversation_id": conversation_id, "error": error, "processed_at": utcnow()}


def _failed(event: WebhookEvent, error: str) -> dict[str, Any]:
    attempts = event.attempts + 1
    return {"status": "failed" if attempts >= MAX_ATTEMPTS else "received", "attempts": attempts,
            "error": error[:2000]}


class WebhookProcessor:
    """Single-flight background processing: ``notify()`` after each stored event; one drain loop at a time.

    Intake comes first: while deliveries keep arriving (one within ``busy_window``
    seconds), the loop works in small batches and, after each, rests ``busy_share``
    times as long as the batch took, so processing gets about a third of the
    process and answering deliveries the rest. A burst is answered at full speed
    and its backlog worked through as it eases; a steady flow is processed as it
    comes. Nothing is lost meanwhile: the events are stored, and anything left
    when the process stops is picked up at the next start.
    """

    def __init__(
        self, database: Database, blobs: BlobStore, runner: JobRunner, *, enabled: bool = True,
        busy_window: float = 1.0, busy_share: float = 2.0,
    ) -> None:
        self.enabled = enabled  # off: events are stored and left for another process to work through
        self.database = database
        self.blobs = blobs
        self.runner = runner
        self.busy_window = busy_window
        self.busy_share = busy_share
        self._dirty = False
        self._last_notice = 0.0

    def notify(self) -> None:
        self._dirty = True
        self._last_notice = time.monotonic()
        if not self.enabled:
            return
        self.runner.submit("webhooks", self._drain, key="webhooks")

    async def _drain(self) -> None:
        while self._dirty:
            self._dirty = False
            busy = time.monotonic() - self._last_notice < self.busy_window
            limit = BUSY_BATCH if busy else BATCH
            started = time.monotonic()
            taken = await process_pending(self.database, self.blobs, limit=limit)
            if taken:
                self._dirty = True  # there may be more: go round again, letting requests in between
                if busy and taken >= limit:
                    await asyncio.sleep(self.busy_share * (time.monotonic() - started))
