"""Importing ElevenLabs JSONL: good lines land, bad ones are named by line number, re-imports change nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

from convhub.auth.service import get_workspace
from convhub.conversations.importer import import_jsonl
from convhub.conversations.service import get_conversation
from convhub.db import Database
from convhub.models import AuditLog, Conversation
from tests.cli.conftest import Invoke, elevenlabs_bodies, last_line, line_numbers, write_jsonl


async def _count(database: Database, model: type) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def _mixed_file(tmp_path: Path) -> tuple[Path, list[str]]:
    """Three good conversations among an invalid JSON line, a body without conversation_id and a blank line."""
    good = elevenlabs_bodies(3)
    no_id = dict(elevenlabs_bodies(1, seed=8)[0])
    del no_id["conversation_id"]
    path = write_jsonl(tmp_path / "export.jsonl", [good[0], '{"conversation_id": "conv_x", ', good[1], no_id, "",
                                                   good[2]])
    return path, [b["conversation_id"] for b in good]


async def test_good_lines_are_imported_and_bad_ones_named_by_line(database: Database, tmp_path: Path) -> None:
    path, ids = _mixed_file(tmp_path)

    result = await import_jsonl(database, path, "acme")

    assert (result.created, result.updated, result.unchanged, result.failed) == (3, 0, 0, 2)
    assert line_numbers(result.errors) == [2, 4]
    assert "invalid JSON" in result.errors[0].reason
    assert "conversation_id" in result.errors[1].reason
    assert str(result.errors[1]).startswith("line 4: ")
    assert result.lines == 5  # the blank line is neither read nor an error
    async with database.session() as session:
        ws = await get_workspace(session, "acme")
        for provider_id in ids:
            stored = await get_conversation(session, ws.id, provider_id, provider="elevenlabs")
            assert stored.message_count > 0


async def test_reimport_changes_nothing_and_a_changed_line_updates(database: Database, tmp_path: Path) -> None:
    path, _ = _mixed_file(tmp_path)
    await import_jsonl(database, path, "acme")

    again = await import_jsonl(database, path, "acme")
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 3, 2)

    bodies = elevenlabs_bodies(3)
    bodies[1]["analysis"]["call_summary_title"] = "Renamed after review"
    changed = await import_jsonl(database, write_jsonl(tmp_path / "changed.jsonl", bodies), "acme", batch_size=2)
    assert (changed.created, changed.updated, changed.unchanged, changed.failed) == (0, 1, 2, 0)
    assert await _count(database, Conversation) == 3


async def test_batches_commit_separately_and_report_progress(database: Database, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "export.jsonl", elevenlabs_bodies(7))
    seen: list[int] = []

    result = await import_jsonl(database, path, "acme", batch_size=3, progress=seen.append)

    assert result.created == 7
    assert len(seen) == 3  # 3 + 3 + 1
    assert seen == sorted(seen)
    assert seen[-1] == path.stat().st_size


async def test_the_import_is_audited(database: Database, tmp_path: Path) -> None:
    path, _ = _mixed_file(tmp_path)

    result = await import_jsonl(database, path, "acme", actor="cli")

    async with database.session() as session:
        entry = (await session.execute(select(AuditLog))).scalar_one()
    assert entry.workspace_id == result.workspace_id
    assert entry.action == "conversations.imported"
    assert entry.actor == "cli"
    assert entry.target_id == "export.jsonl"
    assert entry.detail["created"] == 3
    assert entry.detail["failed_lines"] == [2, 4]


async def test_a_line_the_database_refuses_does_not_sink_its_batch(database: Database, tmp_path: Path) -> None:
    bodies = elevenlabs_bodies(3)
    bodies[1]["analysis"]["transcript_summary"] = "NUL \x00 inside"  # PostgreSQL text cannot hold it; SQLite can

    result = await import_jsonl(database, write_jsonl(tmp_path / "nul.jsonl", bodies), "acme")

    if database.is_sqlite:
        assert (result.created, result.failed) == (3, 0)
    else:
        assert (result.created, result.failed) == (2, 1)
        assert line_numbers(result.errors) == [2]
        assert result.errors[0].reason.startswith("refused by the database: ")


async def test_a_missing_file_fails_before_touching_the_database(database: Database, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await import_jsonl(database, tmp_path / "missing.jsonl", "acme")
    assert await _count(database, AuditLog) == 0


# ---------------------------------------------------------------- the command


def test_import_command_summarises_on_the_last_line(cli: Invoke, tmp_path: Path) -> None:
    path, _ = _mixed_file(tmp_path)

    result = cli("import", str(path), "--workspace", "acme", "--batch-size", "2")

    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == "created=3 updated=0 unchanged=0 failed=2"
    assert "line 2: invalid JSON" in result.stderr
    assert "line 4: conversation_id" in result.stderr

    again = cli("import", str(path), "--workspace", "acme")
    assert last_line(again.stdout) == "created=0 updated=0 unchanged=3 failed=2"


def test_import_command_fails_when_nothing_can_be_imported(cli: Invoke, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", ["not json", '["a list"]'])

    result = cli("import", str(path), "--workspace", "acme")

    assert result.exit_code == 1
    assert last_line(result.stdout) == "created=0 updated=0 unchanged=0 failed=2"
    assert "line 1: invalid JSON" in result.stderr
    assert "line 2: body: expected a JSON object" in result.stderr
    assert "nothing was imported" in result.stderr


def test_import_command_fails_on_a_missing_file(cli: Invoke, tmp_path: Path) -> None:
    result = cli("import", str(tmp_path / "missing.jsonl"), "--workspace", "acme")

    assert result.exit_code == 1
    assert "no such file" in result.stderr
    assert result.stdout == ""


def test_imported_conversations_are_counted_once(cli: Invoke, tmp_path: Path, db_url: str) -> None:
    """The same conversation in two files (or twice in one) is still one conversation."""
    bodies = elevenlabs_bodies(4)
    cli("import", str(write_jsonl(tmp_path / "a.jsonl", bodies[:3] + bodies[:1])), "-w", "acme")
    cli("import", str(write_jsonl(tmp_path / "b.jsonl", bodies[2:])), "-w", "acme")

    async def count() -> int:
        database = Database(db_url)
        try:
            return await _count(database, Conversation)
        finally:
            await database.dispose()

    assert asyncio.run(count()) == 4


def test_the_command_default_batch_size_is_the_importers() -> None:
    from convhub.cli import imports
    from convhub.conversations import importer

    assert imports.DEFAULT_BATCH_SIZE == importer.DEFAULT_BATCH_SIZE
