"""``convhub import``: load an ElevenLabs JSONL export into a workspace."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from convhub.cli._common import Workspace, err, fail, note, out, run

if TYPE_CHECKING:
    from convhub.config import Settings
    from convhub.conversations.importer import ImportResult, ProgressCallback

SHOWN_ERRORS = 100
DEFAULT_BATCH_SIZE = 500  # convhub.conversations.importer.DEFAULT_BATCH_SIZE, spelled out so --help needs no import


def import_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="JSONL file: one ElevenLabs conversation-detail body per line.")
    ],
    workspace: Workspace = "default",
    batch_size: Annotated[
        int, typer.Option(min=1, help="Conversations per transaction.")
    ] = DEFAULT_BATCH_SIZE,
) -> None:
    """Import ElevenLabs conversations from a JSONL file (one GET /v1/convai/conversations/{id} body per line).

    Bad lines are reported by number and skipped; the rest are imported. Re-importing a file changes
    nothing. The last line of stdout is the summary: created=… updated=… unchanged=… failed=…
    Exits 1 only when nothing could be imported.
    """
    if not file.is_file():
        fail(f"{file}: no such file" if not file.exists() else f"{file}: not a file")
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    started = time.monotonic()
    with Progress(
        TextColumn("[bold]importing[/] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # a bar redrawn into a log file is noise
    ) as bar:
        task = bar.add_task(escape(file.name), total=file.stat().st_size)

        def advance(done: int) -> None:
            bar.update(task, completed=done)

        try:
            result = run(_import(settings, file, workspace, batch_size, advance))
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror or exc}")

    for error in result.errors[:SHOWN_ERRORS]:
        note(f"[yellow]{escape(str(error))}[/]")
    if result.failed > SHOWN_ERRORS:
        note(f"[yellow]… and {result.failed - SHOWN_ERRORS} more bad lines[/]")
    note(f"Read {result.lines} conversation lines from {escape(str(file))} into workspace '{escape(workspace)}' "
         f"in {time.monotonic() - started:.1f} s.")
    out(" ".join(f"{name}={count}" for name, count in result.counts().items()))
    if result.imported == 0:
        fail("nothing was imported" + (" (the file holds no conversations)" if result.lines == 0 else ""))


async def _import(
    settings: Settings, file: Path, workspace: str, batch_size: int, progress: ProgressCallback
) -> ImportResult:
    from convhub.cli._database import open_database
    from convhub.conversations.importer import import_jsonl

    async with open_database(settings) as database:
        return await import_jsonl(database, file, workspace, batch_size=batch_size, progress=progress)
