"""The ``convhub`` command line: database, API keys, import, serve and demo.

Each command is a thin wrapper: it loads settings from the environment, checks
the database answers (a clean error otherwise, never a traceback), migrates when
needed and then runs a plain async function with :func:`asyncio.run`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from convhub import __version__
from convhub.cli import agents, db, keys, providers, sync
from convhub.cli.chat import chat
from convhub.cli.imports import import_command
from convhub.cli.server import demo, serve
from convhub.cli.simulate import simulate

__all__ = ["app", "main"]

app = typer.Typer(
    name="convhub",
    help="convhub: one store for every conversation your AI agents have.\n\n"
    "Configuration comes from the environment: CONVHUB_DATABASE_URL (default: SQLite in the data dir) "
    "and CONVHUB_DATA_DIR (default: ./data).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(agents.app, name="agents")
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(providers.app, name="providers")
app.add_typer(sync.app, name="sync")
app.command("import")(import_command)
app.command("serve")(serve)
app.command("demo")(demo)
app.command("simulate")(simulate)
app.command("chat")(chat)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"convhub {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """convhub: one store for every conversation your AI agents have."""


def main() -> None:
    app()
