"""Bulk import of ElevenLabs conversation exports (JSONL) through the one ingest path.

Each line of the file is the body of ElevenLabs' ``GET /v1/convai/conversations/{id}``.
Lines are mapped with the ElevenLabs mapper and written with
:func:`~convhub.conversations.ingest.ingest_many` in batches, one transaction per
batch, so a large file streams through in constant memory and a failure loses
at most one batch of work. A line that cannot be imported — not JSON, not a
conversation, refused by the database — is reported by its line number and the
rest go on. Re-importing the same file changes nothing (ingest is idempotent).

``convhub import`` is a thin wrapper around :func:`import_jsonl`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from convhub.auth.service import ensure_workspace
from convhub.conversations.ingest import ingest_many
from convhub.conversations.schemas import ConversationIn, IngestOutcome
from convhub.db import Database
from convhub.errors import ConvhubError
from convhub.privacy.audit import record
from convhub.providers.elevenlabs.mapper import MappingError, conversation_from_elevenlabs

__all__ = ["DEFAULT_BATCH_SIZE", "ImportResult", "LineError", "import_jsonl"]

DEFAULT_BATCH_SIZE = 500
_BOM = b"\xef\xbb\xbf"

ProgressCallback = Callable[[int], None]
"""Called after each batch with the number of bytes of the file handled so far."""


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based, counting blank lines too, as an editor does
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportResult:
    workspace_id: str = ""
    lines: int = 0  # non-blank lines read
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[LineError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    @property
    def imported(self) -> int:
        """Lines now stored (whether they were new, changed or already there)."""
        return self.created + self.updated + self.unchanged

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed}


@dataclass
class _Batch:
    items: list[tuple[int, ConversationIn]]
    errors: list[LineError]
    lines: int
    offset: int  # bytes of the file consumed once this batch is read


class _Rejected(Exception):
    """One line that cannot be imported; the message says why."""


async def import_jsonl(
    database: Database,
    path: Path,
    workspace: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: str = "cli",
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Import ``path`` into ``workspace`` (created if needed); returns the counts and every bad line.

    Raises OSError (FileNotFoundError, IsADirectoryError…) before touching the
    database when ``path`` cannot be read. Database outages propagate; batches
    committed before one are kept.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        return await _import(database, handle, path, workspace, batch_size, actor, progress)
    finally:
        handle.close()


async def _import(
    database: Database,
    handle: BinaryIO,
    path: Path,
    workspace: str,
    batch_size: int,
    actor: str,
    progress: ProgressCallback | None,
) -> ImportResult:
    result = ImportResult()
    async with database.session() as session:
        result.workspace_id = (await ensure_workspace(session, workspace)).id

    # Reading and mapping are blocking, CPU-bound work: they run in a worker thread, one batch at a time.
    batches = _batches(handle, batch_size)
    try:
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            result.lines += batch.lines
            result.errors.extend(batch.errors)
            if batch.items:
                await _write(database, result, batch.items)
            if progress is not None:
                progress(batch.offset)
    finally:
        batches.close()
    result.errors.sort(key=lambda e: e.line)

    async with database.session() as session:
        await record(session, result.workspace_id, actor=actor, action="conversations.imported",
                     target_type="file", target_id=path.name[:200],
                     detail={"path": str(path), "lines": result.lines, **result.counts(),
                             "failed_lines": [e.line for e in result.errors[:100]]})
    return result


def _batches(handle: BinaryIO, batch_size: int) -> Generator[_Batch, None, None]:
    batch = _Batch(items=[], errors=[], lines=0, offset=0)
    for number, raw in enumerate(handle, start=1):
        batch.offset += len(raw)
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        if not raw.strip():
            continue
        batch.lines += 1
        try:
            batch.items.append((number, _parse(raw)))
        except _Rejected as exc:
            batch.errors.append(LineError(number, str(exc)))
        if len(batch.items) >= batch_size:
            yield batch
            batch = _Batch(items=[], errors=[], lines=0, offset=batch.offset)
    yield batch


def _parse(raw: bytes) -> ConversationIn:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Rejected(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    try:
        return conversation_from_elevenlabs(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)[:3]
        )
        raise _Rejected(f"invalid conversation: {problems}") from None
    except MappingError as exc:
        raise _Rejected(str(exc)) from None
    except Exception as exc:  # a mapper bug on an odd body must not sink the other lines
        raise _Rejected(f"cannot map this conversation ({type(exc).__name__}: {exc})") from None


async def _write(database: Database, result: ImportResult, items: list[tuple[int, ConversationIn]]) -> None:
    """Ingest one batch in one transaction; if the database refuses it, find the lines to blame."""
    try:
        async with database.session() as session:
            outcomes = await ingest_many(session, result.workspace_id, [conv for _, conv in items])
    except (DBAPIError, ConvhubError) as exc:
        if isinstance(exc, OperationalError | InterfaceError) or getattr(exc, "connection_invalidated", False):
            raise  # the database is unwell, not the data
        if len(items) == 1:
            result.errors.append(LineError(items[0][0], f"refused by the database: {_reason(exc)}"))
            return
        # Some value this database will not store (a NUL byte in PostgreSQL text, an over-long id…):
        # retry line by line so the others still land.
        for item in items:
            await _write(database, result, [item])
        return
    for outcome in outcomes:
        if outcome.outcome is IngestOutcome.created:
            result.created += 1
        elif outcome.outcome is IngestOutcome.updated:
            result.updated += 1
        else:
            result.unchanged += 1


def _reason(exc: Exception) -> str:
    if isinstance(exc, ConvhubError):
        return exc.message
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    # SQLAlchemy's asyncpg adapter prefixes the driver's class ("<class 'asyncpg…Error'>: "); keep the message.
    return re.sub(r"^<class '[\w.]+'>:\s*", "", lines[0]) if lines else type(orig).__name__
