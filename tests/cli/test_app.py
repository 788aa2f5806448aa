"""The command line as a whole: version, help, migrations, and clean errors for a database it cannot use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from convhub import __version__
from tests.cli.conftest import authenticate_with, last_line, runner_for

COMMANDS = [[], ["db"], ["db", "upgrade"], ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"],
            ["import"], ["serve"], ["demo"]]


def test_version() -> None:
    result = runner_for({})("--version")

    assert result.exit_code == 0
    assert last_line(result.stdout) == f"convhub {__version__}"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "convhub")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner_for({})(*command, "--help")

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert "--help" in result.stdout


def test_db_upgrade_migrates_a_fresh_database_once(tmp_path: Path) -> None:
    cli = runner_for({"CONVHUB_DATA_DIR": str(tmp_path / "data")})

    first = cli("db", "upgrade")
    second = cli("db", "upgrade")

    assert first.exit_code == 0, first.output
    assert "upgraded from an empty database" in first.stderr
    assert (tmp_path / "data" / "convhub.db").is_file()  # the default: SQLite in the data dir
    assert second.exit_code == 0, second.output
    assert "already up to date" in second.stderr
    assert last_line(first.stdout) == last_line(second.stdout)
    assert last_line(first.stdout).startswith("revision ")


def test_keys_create_migrates_a_fresh_database_first(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    cli = runner_for({"CONVHUB_DATA_DIR": str(tmp_path / "data"), "CONVHUB_DATABASE_URL": url})

    result = cli("keys", "create", "--workspace", "acme")

    assert result.exit_code == 0, result.output
    authenticate_with(url, last_line(result.stdout))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"postgresql+asyncpg://convhub:s3cret@127.0.0.1:{_closed_port()}/convhub", "cannot reach the database"),
        ("sqlite+aiosqlite:////no/such/directory/convhub.db", "cannot reach the database"),
        ("not a url", "bad database URL"),
        ("nosuchdialect://host/db", "bad database URL"),
    ],
    ids=["refused", "sqlite-no-dir", "unparsable", "unknown-dialect"],
)
@pytest.mark.parametrize("command", [["db", "upgrade"], ["keys", "list"], ["serve", "--port", "0"]])
def test_a_database_it_cannot_use_is_a_clean_error(tmp_path: Path, url: str, message: str, command: list[str]) -> None:
    cli = runner_for({"CONVHUB_DATA_DIR": str(tmp_path / "data"), "CONVHUB_DATABASE_URL": url})

    result = cli(*command)

    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output  # the password is masked
    assert result.stdout == ""
