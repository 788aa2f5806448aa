"""What every command shares: the two consoles, clean failures, common options.

stdout carries only what a script needs (its last line is the value: a key, a
URL, a summary); everything for humans — progress, notes, errors — goes to
stderr, so ``KEY=$(convhub keys create …)`` just works.

This module stays light: the command modules import the heavy machinery
(SQLAlchemy, Alembic, FastAPI…) inside the commands, so ``--help`` and
``--version`` answer at once.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

T = TypeVar("T")

err = Console(stderr=True, highlight=False)

Workspace = Annotated[
    str, typer.Option("--workspace", "-w", envvar="CONVHUB_WORKSPACE", help="The workspace (tenant) to act in.")
]


def out(line: str) -> None:
    """One line on stdout, flushed at once (a parent process may be waiting for it)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    """A line for humans on stderr; ``message`` may use Rich markup."""
    err.print(message, soft_wrap=True)


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Stop the command with a one-line error on stderr instead of a traceback."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)
