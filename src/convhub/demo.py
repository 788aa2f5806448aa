"""Demo data: a workspace of generated ElevenLabs conversations, with audio and an API key.

``convhub demo`` calls :func:`seed_demo` and then serves. The conversations come
from the ElevenLabs generator and enter through the same mapper and bulk ingest
as a real import, so the demo shows exactly what an import would.

Re-running on the same data never duplicates anything: the generated window is
anchored on the workspace's creation time, so every run generates the very same
conversations (same provider ids) and ingest finds them unchanged. The API key's
secret is kept in the data directory so the demo hands out the same key each
time, until it is revoked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from convhub.auth.service import authenticate, create_key, ensure_workspace
from convhub.config import Settings
from convhub.conversations.ingest import ingest_many
from convhub.conversations.schemas import IngestOutcome
from convhub.conversations.service import attach_audio, get_conversation
from convhub.db import Database
from convhub.errors import Unauthorized
from convhub.kit.time import as_utc, utcnow
from convhub.models import Workspace
from convhub.privacy.audit import record
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs
from convhub.simulators.generate import generate_audio_bytes, generate_elevenlabs_conversations
from convhub.storage.base import one_chunk
from convhub.storage.local import LocalBlobStore

__all__ = ["DEMO_DAYS", "DemoInfo", "seed_demo"]

DEMO_DAYS = 30
DEMO_SEED = 0
BATCH = 100
KEYS_FILE = "demo_keys.json"


@dataclass(frozen=True)
class DemoInfo:
    workspace: str
    workspace_id: str
    api_key: str
    key_reused: bool  # the key kept from an earlier run still works
    conversations: int  # demo conversations now in the workspace
    created: int  # of those, new on this run
    with_audio: int  # of those, how many have audio
    window_start: datetime
    window_end: datetime


async def seed_demo(settings: Settings, workspace: str = "demo", n: int = 300) -> DemoInfo:
    """Fill ``workspace`` with ``n`` demo conversations from the last :data:`DEMO_DAYS` days.

    The database must already be migrated. Idempotent: a second run adds nothing
    and returns the same key.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    store = LocalBlobStore(settings.blob_dir)
    try:
        async with database.session() as session:
            ws = await ensure_workspace(session, workspace)
        window_start, window_end = _window(ws)
        total = created = with_audio = 0
        for batch in _chunks(_demo_bodies(n, window_start, window_end), BATCH):
            conversations = [conversation_from_elevenlabs(body) for body in batch]
            total += len(conversations)
            async with database.session() as session:
                results = await ingest_many(session, ws.id, conversations)
                for conv, result in zip(conversations, results, strict=True):
                    created += result.outcome is IngestOutcome.created
                    if not conv.has_audio:
                        continue
                    row = await get_conversation(session, ws.id, result.conversation_id)
                    if not row.has_audio:
                        audio = generate_audio_bytes(conv.provider_conversation_id)
                        await attach_audio(session, row, store, one_chunk(audio))
                    with_audio += 1
        api_key, reused = await _demo_key(database, settings.data_dir / KEYS_FILE, ws)
        if created:
            async with database.session() as session:
                await record(session, ws.id, actor="cli", action="demo.seeded", target_type="workspace",
                             target_id=ws.id, detail={"conversations": n, "created": created})
    finally:
        await database.dispose()
    return DemoInfo(workspace=workspace, workspace_id=ws.id, api_key=api_key, key_reused=reused, conversations=total,
                    created=created, with_audio=with_audio, window_start=window_start, window_end=window_end)


def _window(ws: Workspace) -> tuple[datetime, datetime]:
    """From midnight UTC :data:`DEMO_DAYS` - 1 days before the workspace was made, up to when it was made.

    Starting at midnight keeps the generator's business hours at business hours;
    ending at the creation time keeps every conversation in the past.
    """
    end = as_utc(ws.created_at or utcnow()).replace(microsecond=0)
    start = end.replace(hour=0, minute=0, second=0) - timedelta(days=DEMO_DAYS - 1)
    return start, end


def _demo_bodies(n: int, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """The first ``n`` generated conversations that started by ``end`` (the rest of that day is skipped)."""
    limit = end.timestamp()
    # The window runs to midnight after ``end``; at most one day in DEMO_DAYS falls after it, so 2n is plenty.
    bodies = generate_elevenlabs_conversations(2 * n + 10, seed=DEMO_SEED, start=start, span_days=DEMO_DAYS)
    return islice((b for b in bodies if b["metadata"]["start_time_unix_secs"] <= limit), n)


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


async def _demo_key(database: Database, keys_file: Path, ws: Workspace) -> tuple[str, bool]:
    """The key saved by an earlier run if it still opens this workspace, else a new one (saved for next time)."""
    saved = _read_keys(keys_file)
    secret = saved.get(ws.name)
    async with database.session() as session:
        if secret:
            try:
                subject = await authenticate(session, secret)
            except Unauthorized:
                subject = None
            if subject is not None and subject.workspace_id == ws.id:
                return secret, True
        key, secret = await create_key(session, ws, name="demo")
        await record(session, ws.id, actor="cli", action="api_key.created", target_type="api_key",
                     target_id=key.id, detail={"prefix": key.prefix, "scopes": key.scopes, "name": "demo"})
    saved[ws.name] = secret
    _write_keys(keys_file, saved)
    return secret, False


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)  # secrets: readable by the owner only
    path.write_text(json.dumps(keys, indent=2) + "\n")


def _read_keys(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
