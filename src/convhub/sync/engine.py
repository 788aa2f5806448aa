"""The sync engine: every conversation of a provider account into the store, once, resumably.

A run makes one *pass* over the vendor's list, newest first:

* **full** — every page from the start, no cap;
* **incremental** — only conversations started after the watermark (the newest
  start a completed pass saw) minus an overlap, plus a re-check of recent
  conversations filed while not final, and of those that failed last time.

For each list item the engine asks for the detail only when the conversation is
new or its list fingerprint changed; with the unknown-agent policy ``skip``,
items of agents convhub does not know are counted and passed over. Details and
audio are fetched concurrently through the provider's transport, which keeps
the vendor's concurrency bound and retries 429/5xx/timeouts; the next list page
is fetched while the current one's details are in flight, and two pages are
prepared at once, so the vendor's request budget stays full.

Each page is committed in one transaction: the conversations through the ingest
path, their audio keys (the audio itself was streamed to the blob store first),
the fingerprints, the failures and the **checkpoint** (the list cursor after the
page). A run killed at any moment therefore resumes from the last committed page:
nothing is lost, and nothing is filed twice (ingest is idempotent anyway).
One bad conversation never stops a run: it is recorded in ``sync_failures``,
counted as ``failed`` and retried first by the next run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from convhub.conversations.ingest import ingest_many
from convhub.conversations.repository import ConversationRepository
from convhub.conversations.schemas import ConversationIn, IngestResult, Status
from convhub.db import Database
from convhub.errors import Conflict, NotFound
from convhub.kit.ids import new_id
from convhub.kit.time import utcnow
from convhub.kit.uow import writer_turn
from convhub.models import ProviderConnection, SyncRun
from convhub.providers.base import (
    ConversationGone,
    ListedConversation,
    ListPage,
    MappingError,
    Provider,
    ProviderError,
)
from convhub.storage.base import BlobStore
from convhub.storage.keys import provider_audio_key
from convhub.sync.repository import SyncRepository

COUNT_KEYS = ("fetched", "created", "updated", "unchanged", "skipped_unknown_agent", "failed", "audio", "gone",
              "agents_created")
FINAL_STATUSES = frozenset({Status.done, Status.failed})
MAX_RUN_ERRORS = 100
HOST = socket.gethostname()
log = logging.getLogger("convhub.sync")

ProviderFactory = Callable[[ProviderConnection], Provider]
ProgressCallback = Callable[[SyncRun], Awaitable[None] | None]


class EventPublisher(Protocol):
    """The live event bus's publish (``app.state.events.publish``): sync progress goes out on it."""

    def __call__(
        self, workspace_id: str, type: str, data: dict[str, Any], *, conversation_id: str | None = None
    ) -> Awaitable[Any]: ...


@dataclass(frozen=True)
class SyncSettings:
    overlap: timedelta = timedelta(hours=1)  # an incremental pass starts this far before the watermark
    recheck_horizon: timedelta = timedelta(hours=48)  # non-final conversations younger than this are re-checked
    stale_after: timedelta = timedelta(minutes=2)  # a run silent this long (no heartbeat) is presumed dead


@dataclass
class _Prepared:
    """A page's network work, done: what to file, what failed, what was skipped."""

    conversations: list[ConversationIn] = field(default_factory=list)
    fingerprints: dict[str, tuple[str, bool]] = field(default_factory=dict)
    audio: dict[str, str] = field(default_factory=dict)  # provider id → blob key, stored
    failed: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    newest: datetime | None = None


def owner_tag() -> str:
    return f"{HOST}:{os.getpid()}"


def _owner_alive(owner: str | None) -> bool:
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != HOST:
        return True  # another machine's process: only the heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _is_alive(run: SyncRun, settings: SyncSettings) -> bool:
    if run.status == "queued":
        return run.started_at > utcnow() - settings.stale_after
    beat = run.heartbeat_at or run.started_at
    return _owner_alive(run.owner) and beat > utcnow() - settings.stale_after


async def start_run(
    session: AsyncSession,
    workspace_id: str,
    connection_id: str,
    *,
    mode: str = "auto",
    trigger: str = "manual",
    settings: SyncSettings | None = None,
) -> SyncRun:
    """Queue a run for the connection. 409 if a live run of it exists; dead ones are marked interrupted."""
    settings = settings or SyncSettings()
    if mode not in ("auto", "full", "incremental"):
        raise ValueError(f"unknown sync mode {mode!r}")
    repo = SyncRepository(session, workspace_id)
    connection = await repo.connection(connection_id)
    if connection is None:
        raise NotFound(f"Provider connection {connection_id!r} not found.")
    resumed_from = None
    for other in await repo.running(connection_id):
        if _is_alive(other, settings):
            raise Conflict(f"A sync of connection {connection_id} is already running (run {other.id}).")
        await repo.update_run(other.id, status="interrupted", finished_at=utcnow())
        resumed_from = other.id
    run = SyncRun(
        id=new_id("sync"), workspace_id=workspace_id, connection_id=connection_id, mode=mode, status="queued",
        trigger=trigger, counts=dict.fromkeys(COUNT_KEYS, 0), errors=[], resumed_from=resumed_from,
        started_at=utcnow(),
    )
    await repo.add_run(run)
    return run


class SyncEngine:
    """Runs queued sync runs. One engine per process; each :meth:`execute` call handles one run."""

    def __init__(
        self,
        database: Database,
        blobs: BlobStore,
        provider_factory: ProviderFactory,
        *,
        settings: SyncSettings | None = None,
        publish: EventPublisher | None = None,
    ) -> None:
        self.database = database
        self.blobs = blobs
        self.provider_factory = provider_factory
        self.settings = settings or SyncSettings()
        self.publish = publish  # set by the app once its event bus exists

    async def execute(self, workspace_id: str, run_id: str, *, on_progress: ProgressCallback | None = None) -> SyncRun:
        return await _Run(self, workspace_id, run_id, on_progress).execute()


class _Run:
    def __init__(
        self, engine: SyncEngine, workspace_id: str, run_id: str, on_progress: ProgressCallback | None
    ) -> None:
        self.engine = engine
        self.db = engine.database
        self.workspace_id = workspace_id
        self.run_id = run_id
        self.on_progress = on_progress
        self.counts: Counter[str] = Counter(dict.fromkeys(COUNT_KEYS, 0))
        self.errors: list[dict[str, Any]] = []
        self.pages = 0
        self.known_agents: set[str] = set()
        self.state: dict[str, Any] = {}

    # ------------------------------------------------------------- the run

    async def execute(self) -> SyncRun:
        async with self.db.session() as session:
            repo = SyncRepository(session, self.workspace_id)
            run = await repo.get(self.run_id)
            if run is None:
                raise NotFound(f"Sync run {self.run_id!r} not found.")
            connection = await repo.connection(run.connection_id)
            if connection is None:
                raise NotFound(f"Provider connection {run.connection_id!r} not found.")
            await repo.update_run(run.id, status="running", owner=owner_tag(), heartbeat_at=utcnow())
            self.known_agents = await repo.known_agents(connection.provider)
        self.run = run
        self.connection = connection
        self.state = dict(connection.sync_state or {})
        self.provider = self.engine.provider_factory(connection)
        status, fatal = "succeeded", None
        try:
            await self._pass()
        except ProviderError as exc:
            status, fatal = "failed", exc.message
        except asyncio.CancelledError:
            await self._finish("interrupted", "the run was cancelled")
            raise
        except Exception as exc:  # recorded on the run, which must not stay "running" forever
            status, fatal = "failed", f"{exc.__class__.__name__}: {exc}"
        finally:
            await self.provider.aclose()
        return await self._finish(status, fatal)

    async def _finish(self, status: str, fatal: str | None) -> SyncRun:
        if fatal:
            self.errors.append({"error": fatal})
        now = utcnow()
        async with self.db.session() as session:
            repo = SyncRepository(session, self.workspace_id)
            await repo.update_run(
                self.run_id, status=status, counts=dict(self.counts), errors=self.errors[-MAX_RUN_ERRORS:],
                pages=self.pages, requests=self._requests(), finished_at=now, heartbeat_at=now,
            )
            interval = self.connection.sync_interval_secs
            await repo.set_connection(
                self.connection.id, last_sync_at=now,
                next_sync_at=now + timedelta(seconds=interval) if interval else None,
            )
            run = await repo.get(self.run_id)
            assert run is not None
            await session.refresh(run)
        await self._progress(run)
        return run

    def _requests(self) -> int:
        http = getattr(self.provider, "http", None)
        return int(getattr(http, "requests", 0))

    async def _progress(self, run: SyncRun | None = None) -> None:
        if self.on_progress is None and self.engine.publish is None:
            return
        if run is None:
            run = SyncRun(
                id=self.run_id, workspace_id=self.workspace_id, connection_id=self.connection.id,
                mode=self.run.mode, status="running", trigger=self.run.trigger, counts=dict(self.counts),
                errors=list(self.errors), pages=self.pages, requests=self._requests(), started_at=self.run.started_at,
            )
        if self.engine.publish is not None:
            data = {"run_id": run.id, "connection_id": run.connection_id, "status": run.status, "mode": run.mode,
                    "counts": dict(run.counts), "pages": run.pages}
            try:
                await self.engine.publish(self.workspace_id, "sync.progress", data)
            except Exception:  # live monitoring is best effort; the run's own record is the truth
                log.warning("could not publish sync progress", exc_info=True)
        if self.on_progress is not None:
            result = self.on_progress(run)
            if result is not None:
                await result

    async def _pass(self) -> None:
        settings = self.engine.settings
        state = self.state
        mode = self.run.mode
        if state.get("pass") and "cursor" in state and mode != "full":
            pass_kind = state["pass"]  # resume the pass a killed run left half done
        elif mode == "full" or not state.get("full_done"):
            pass_kind = "full"
            state.update({"pass": "full", "cursor": None, "since": None, "pass_newest": None})
        else:
            pass_kind = "incremental"
            watermark = datetime.fromisoformat(state["watermark"]) if state.get("watermark") else None
            since = watermark - settings.overlap if watermark else None
            state.update({"pass": "incremental", "cursor": None, "since": since.isoformat() if since else None,
                          "pass_newest": None})
        async with self.db.session() as session:
            repo = SyncRepository(session, self.workspace_id)
            await repo.update_run(self.run_id, mode=pass_kind)
            await repo.set_connection(self.connection.id, sync_state=dict(state))
            retry = await repo.failures(self.connection.id)
            recheck = (
                await self._recheck_ids(session, state.get("since")) if pass_kind == "incremental" else []
            )
        self.run.mode = pass_kind
        direct = list(dict.fromkeys([*retry, *recheck]))
        for start in range(0, len(direct), 100):
            prepared = await self._prepare_ids(direct[start : start + 100])
            await self._commit(prepared, checkpoint=None)
        await self._list_pages()

    async def _recheck_ids(self, session: AsyncSession, since_iso: str | None) -> list[str]:
        horizon = utcnow() - self.engine.settings.recheck_horizon
        before = datetime.fromisoformat(since_iso) if since_iso else None
        return await ConversationRepository(session, self.workspace_id).unfinished(
            self.connection.provider, after=horizon, before=before
        )

    async def _list_pages(self) -> None:
        since = datetime.fromisoformat(self.state["since"]) if self.state.get("since") else None
        cursor: str | None = self.state.get("cursor")
        next_list: asyncio.Task[ListPage] | None = asyncio.create_task(self.provider.list_page(cursor, since=since))
        inflight: deque[tuple[ListPage, asyncio.Task[_Prepared]]] = deque()
        try:
            while next_list is not None or inflight:
                if next_list is not None and len(inflight) < 2:
                    try:
                        page = await next_list
                    except ProviderError:
                        next_list = None
                        await self._drain(inflight)
                        raise
                    next_list = (
                        asyncio.create_task(self.provider.list_page(page.next_cursor, since=since))
                        if page.next_cursor else None
                    )
                    inflight.append((page, asyncio.create_task(self._prepare_listed(page.items))))
                    continue
                page, task = inflight.popleft()
                await self._commit(await task, checkpoint=page)
        finally:
            for pending in [next_list, *(t for _, t in inflight)]:
                if pending is not None and not pending.done():
                    pending.cancel()
        self._pass_complete()
        async with self.db.session() as session:
            await SyncRepository(session, self.workspace_id).set_connection(
                self.connection.id, sync_state=dict(self.state)
            )

    async def _drain(self, inflight: deque[tuple[ListPage, asyncio.Task[_Prepared]]]) -> None:
        """Commit the pages already being prepared before giving up (their checkpoints stay valid)."""
        while inflight:
            page, task = inflight.popleft()
            await self._commit(await task, checkpoint=page)

    def _pass_complete(self) -> None:
        state = self.state
        newest = [v for v in (state.get("watermark"), state.get("pass_newest")) if v]
        if newest:
            state["watermark"] = max(datetime.fromisoformat(v) for v in newest).isoformat()
        if state.get("pass") == "full":
            state["full_done"] = True
        for key in ("pass", "cursor", "since", "pass_newest"):
            state.pop(key, None)

    # ------------------------------------------------------------- one page

    async def _prepare_listed(self, items: Sequence[ListedConversation]) -> _Prepared:
        prepared = _Prepared()
        ids = [item.provider_conversation_id for item in items]
        async with self.db.session() as session:
            repo = SyncRepository(session, self.workspace_id)
            fingerprints = await repo.fingerprints(self.connection.id, ids)
            stored = await repo.stored(self.connection.provider, ids)
        work = []
        for item in items:
            pid = item.provider_conversation_id
            prepared.counts["fetched"] += 1
            if prepared.newest is None or item.started_at > prepared.newest:
                prepared.newest = item.started_at
            previous = fingerprints.get(pid)
            if previous is not None and previous[0] == item.fingerprint and pid in stored:
                prepared.counts["unchanged"] += 1
                continue
            if self._skip_agent(item.provider_agent_id):
                prepared.counts["skipped_unknown_agent"] += 1
                continue
            work.append(self._fetch(prepared, pid, item, stored.get(pid)))
        await asyncio.gather(*work)
        return prepared

    async def _prepare_ids(self, ids: Sequence[str]) -> _Prepared:
        prepared = _Prepared()
        async with self.db.session() as session:
            stored = await SyncRepository(session, self.workspace_id).stored(self.connection.provider, ids)
        prepared.counts["fetched"] += len(ids)
        await asyncio.gather(*(self._fetch(prepared, pid, None, stored.get(pid)) for pid in ids))
        return prepared

    def _skip_agent(self, provider_agent_id: str | None) -> bool:
        return (
            self.connection.unknown_agents == "skip"
            and provider_agent_id is not None
            and provider_agent_id not in self.known_agents
        )

    async def _fetch(
        self, prepared: _Prepared, pid: str, item: ListedConversation | None, stored: tuple[str, str | None] | None
    ) -> None:
        try:
            detail: Mapping[str, Any] = (
                item.detail if item is not None and item.detail is not None
                else await self.provider.get_conversation(pid)
            )
            conversation = self.provider.map_conversation(detail)
            if self._skip_agent(conversation.agent.provider_agent_id) or (
                self.connection.unknown_agents == "skip" and conversation.agent.provider_agent_id is None
            ):
                prepared.counts["skipped_unknown_agent"] += 1
                return
            if conversation.has_audio and (stored is None or stored[1] is None):
                chunks = self.provider.stream_audio(pid, detail)
                if chunks is not None:
                    key = provider_audio_key(self.workspace_id, self.connection.provider, pid)
                    await self.engine.blobs.put(key, chunks)
                    prepared.audio[pid] = key
        except ConversationGone:
            prepared.counts["gone"] += 1  # deleted at the vendor between the list and the detail
            return
        except (ProviderError, MappingError) as exc:
            prepared.failed[pid] = str(exc)
            return
        final = item.final if item is not None else conversation.status in FINAL_STATUSES
        prepared.conversations.append(conversation)
        prepared.fingerprints[pid] = (item.fingerprint if item is not None else "", final)

    async def _commit(self, prepared: _Prepared, *, checkpoint: ListPage | None) -> None:
        """File one page and move the checkpoint past it, in one transaction.

        If the batch is refused as a whole, each conversation is filed in its own
        transaction so a bad one fails alone; the checkpoint then follows in a last
        one (a kill in between only means the page is fetched again: ingest is idempotent).
        """
        try:
            async with self.db.session() as session:
                await writer_turn(session)
                results: list[IngestResult | None] = list(
                    await ingest_many(session, self.workspace_id, prepared.conversations)
                )
                await self._record(session, prepared, results, checkpoint)
        except Exception:  # the batch as a whole was refused; find the culprit(s) one by one
            results = []
            for conv in prepared.conversations:
                try:
                    async with self.db.session() as session:
                        results.extend(await ingest_many(session, self.workspace_id, [conv]))
                except Exception as exc:  # recorded against this conversation; the others go on
                    results.append(None)
                    prepared.failed[conv.provider_conversation_id] = f"{exc.__class__.__name__}: {exc}"
            async with self.db.session() as session:
                await self._record(session, prepared, results, checkpoint)
        await self._progress()

    async def _record(
        self, session: AsyncSession, prepared: _Prepared, results: Sequence[IngestResult | None],
        checkpoint: ListPage | None,
    ) -> None:
        connection_id = self.connection.id
        repo = SyncRepository(session, self.workspace_id)
        ids = {}
        fingerprints = dict(prepared.fingerprints)
        counts = Counter(prepared.counts)
        for conv, result in zip(prepared.conversations, results, strict=True):
            if result is None:
                fingerprints.pop(conv.provider_conversation_id, None)
                continue
            counts[result.outcome.value] += 1
            ids[conv.provider_conversation_id] = result.conversation_id
        await repo.set_audio({ids[pid]: key for pid, key in prepared.audio.items() if pid in ids})
        counts["audio"] += sum(1 for pid in prepared.audio if pid in ids)
        await repo.save_fingerprints(connection_id, fingerprints)
        await repo.clear_failures(connection_id, list(ids))
        await repo.record_failures(connection_id, self.run_id, prepared.failed)
        new_agents = {
            c.agent.provider_agent_id for c in prepared.conversations
            if c.agent.provider_agent_id and c.agent.provider_agent_id not in self.known_agents
        }
        counts["agents_created"] += len(new_agents)
        counts["failed"] += len(prepared.failed)
        total = self.counts + counts
        for key in COUNT_KEYS:
            total.setdefault(key, 0)
        errors = [*self.errors, *({"conversation_id": p, "error": m} for p, m in prepared.failed.items())]
        errors = errors[-MAX_RUN_ERRORS:]
        state = dict(self.state)
        pages = self.pages
        if checkpoint is not None:
            pages += 1
            state["cursor"] = checkpoint.next_cursor
            if prepared.newest is not None:
                newest = state.get("pass_newest")
                if newest is None or prepared.newest > datetime.fromisoformat(newest):
                    state["pass_newest"] = prepared.newest.isoformat()
            await repo.set_connection(connection_id, sync_state=state)
        await repo.update_run(
            self.run_id, counts=dict(total), errors=errors, pages=pages, requests=self._requests(),
            heartbeat_at=utcnow(),
        )
        # The run's own view moves on only once every statement of the page went through.
        self.counts, self.errors, self.state, self.pages = total, errors, state, pages
        self.known_agents |= {a for a in new_agents if a}


__all__ = ["COUNT_KEYS", "SyncEngine", "SyncSettings", "start_run"]
