"""CLI fixtures: the environment a command sees, an in-process runner, and JSONL exports to import."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from convhub.auth.service import AuthSubject, authenticate
from convhub.cli import app
from convhub.db import Database
from convhub.simulators.generate import generate_elevenlabs_conversations

Invoke = Callable[..., Result]


def clean_env(**values: str) -> dict[str, str]:
    """The process environment without any CONVHUB_* of the caller's, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVHUB_")}
    env.update(values)
    return env


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """CONVHUB_* for a command run against this test's (migrated, empty) database."""
    return {
        "CONVHUB_DATA_DIR": str(tmp_path / "data"),
        "CONVHUB_DATABASE_URL": db_url,
        "CONVHUB_SECRET_KEY": "test-secret",
    }


def runner_for(env: dict[str, str]) -> Invoke:
    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CONVHUB_")}
    overrides.update(env)

    def invoke(*args: str) -> Result:
        return CliRunner(env=overrides).invoke(app, list(args))

    return invoke


@pytest.fixture
def cli(cli_env: dict[str, str]) -> Invoke:
    """Run ``convhub ARGS…`` in-process; the result has ``exit_code``, ``stdout`` and ``stderr`` apart."""
    return runner_for(cli_env)


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert lines, "nothing on stdout"
    return lines[-1].strip()


async def _authenticate(url: str, secret: str) -> AuthSubject:
    database = Database(url)
    try:
        async with database.session() as session:
            return await authenticate(session, secret)
    finally:
        await database.dispose()


def authenticate_with(url: str, secret: str) -> AuthSubject:
    """What the API would make of ``secret`` (raises Unauthorized like it would)."""
    return asyncio.run(_authenticate(url, secret))


def elevenlabs_bodies(n: int, seed: int = 7) -> list[dict[str, Any]]:
    return list(generate_elevenlabs_conversations(n, seed=seed, turns=4))


def write_jsonl(path: Path, lines: Iterable[dict[str, Any] | str]) -> Path:
    """Bodies become JSON lines; strings are written as they are (for broken lines)."""
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def line_numbers(errors: Sequence[Any]) -> list[int]:
    return [e.line for e in errors]
