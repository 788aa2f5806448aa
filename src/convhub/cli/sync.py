"""``convhub sync``: pull conversations from the workspace's provider connections now, with a live progress bar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from convhub.cli._common import Workspace, err, fail, note, out, run

if TYPE_CHECKING:
    from convhub.config import Settings
    from convhub.models import SyncRun

app = typer.Typer(help="Sync conversations from provider connections.", no_args_is_help=True)

SUMMARY_KEYS = ("fetched", "created", "updated", "unchanged", "skipped_unknown_agent", "failed")


@app.command("run")
def run_command(
    workspace: Workspace = "default",
    connection: Annotated[str | None, typer.Option("--connection", "-c", help="One connection id (default: all).")]
    = None,
    full: Annotated[bool, typer.Option("--full", help="List everything again, not only what is new.")] = False,
) -> None:
    """Run a sync now and wait for it. The last line of stdout is a JSON summary; exit 1 if a run failed."""
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    runs = run(_sync(settings, workspace, connection, "full" if full else "auto"))
    import json

    failed = [r for r in runs if r.status != "succeeded"]
    for r in runs:
        counts = ", ".join(f"{k.replace('_', ' ')} {r.counts.get(k, 0)}" for k in SUMMARY_KEYS)
        note(f"[bold]{r.id}[/] ({r.connection_id}, {r.mode}): [{'green' if r.status == 'succeeded' else 'red'}]"
             f"{r.status}[/] — {counts}; {r.pages} pages, {r.requests} requests")
        for e in r.errors[-5:]:
            note(f"  [red]{e.get('conversation_id', 'run')}[/]: {e.get('error')}")
    out(json.dumps({"runs": [{"id": r.id, "connection_id": r.connection_id, "status": r.status, "mode": r.mode,
                              "counts": r.counts} for r in runs]}))
    if failed:
        raise typer.Exit(1)


async def _sync(settings: Settings, workspace: str, connection_id: str | None, mode: str) -> list[SyncRun]:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from convhub.auth.service import get_workspace
    from convhub.cli._database import open_database
    from convhub.connections.service import open_provider
    from convhub.errors import ConvhubError
    from convhub.kit.secretbox import SecretBox
    from convhub.storage.local import LocalBlobStore
    from convhub.sync.engine import SyncEngine
    from convhub.sync.service import start_runs

    box = SecretBox(settings.resolved_secret_key)
    async with open_database(settings) as database:
        try:
            async with database.session() as session:
                ws = await get_workspace(session, workspace)
                runs = await start_runs(session, ws.id, connection_id, mode=mode, trigger="cli")
        except ConvhubError as exc:
            fail(exc.message)
        engine = SyncEngine(database, LocalBlobStore(settings.blob_dir), lambda c: open_provider(c, box))
        done = []
        with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), console=err,
                      disable=not err.is_terminal) as progress:
            for queued in runs:
                task = progress.add_task(f"{queued.connection_id}", total=None, counts="starting…")

                def show(r: SyncRun, task: Any = task) -> None:
                    c = r.counts
                    progress.update(task, counts=f"{c.get('fetched', 0)} fetched · {c.get('created', 0)} new · "
                                    f"{c.get('updated', 0)} updated · {c.get('failed', 0)} failed · {r.pages} pages")

                done.append(await engine.execute(ws.id, queued.id, on_progress=show))
                progress.update(task, total=1, completed=1)
        return done
