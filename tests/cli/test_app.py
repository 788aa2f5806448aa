"""The command line as a whole: version, help, migrations, and clean errors for a database it cannot use."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from convhub import __version__
from tests.cli.conftest import authenticate_with, clean_env, last_line, runner_for

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


@pytest.mark.parametrize("command", [["demo", "--port", "0", "--conversations", "3"]])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"postgresql+asyncpg://convhub:s3cret@127.0.0.1:{_closed_port()}/convhub", "cannot reach the database"),
        ("not a url", "bad database URL"),
    ],
    ids=["refused", "unparsable"],
)
def test_the_demo_too_fails_cleanly_on_a_database_it_cannot_use(
    tmp_path: Path, url: str, message: str, command: list[str]
) -> None:
    test_a_database_it_cannot_use_is_a_clean_error(tmp_path, url, message, command)


REFUSED = _closed_port()
REDIS_PROBLEMS = [
    (f"redis://:s3cret@127.0.0.1:{REFUSED}/0", f"error: CONVHUB_REDIS_URL is set but Redis at 127.0.0.1:{REFUSED} "
                                               "does not answer: Error 111 connecting to"),
    ("http://127.0.0.1:6379/0", "CONVHUB_REDIS_URL: Value error, not a Redis URL"),
    ("redis://:s3cret@127.0.0.1:port/0", "CONVHUB_REDIS_URL: Value error, not a Redis URL (Port could not be cast"),
]


@pytest.mark.parametrize(("url", "message"), REDIS_PROBLEMS, ids=["refused", "scheme", "port"])
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["demo", "--port", "0", "--conversations", "3"]])
def test_a_redis_it_cannot_use_is_one_clean_line(tmp_path: Path, url: str, message: str, command: list[str]) -> None:
    cli = runner_for({"CONVHUB_DATA_DIR": str(tmp_path / "data"), "CONVHUB_REDIS_URL": url})

    result = cli(*command)

    assert result.exit_code == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output
    assert result.stdout == ""


def test_an_event_bus_that_fails_at_server_start_up_is_one_clean_line(tmp_path: Path) -> None:
    """Past the command's own check (Redis went away meanwhile), the app's start-up fails: uvicorn would print
    the traceback; the command prints the reason and exits 1."""
    port = _closed_port()
    skip_the_command_check = (
        "import sys, convhub.cli._database as d; d.check_event_bus = lambda settings: None; "
        "from convhub.cli import main; sys.argv = ['convhub', 'serve', '--port', '0']; main()"
    )
    env = clean_env(CONVHUB_DATA_DIR=str(tmp_path / "data"), CONVHUB_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    done = subprocess.run([sys.executable, "-c", skip_the_command_check], env=env, capture_output=True, text=True,
                          timeout=60)

    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: the server could not start: CONVHUB_REDIS_URL is set but Redis at 127.0.0.1:{port} does not "
        f"answer: Error 111 connecting to 127.0.0.1:{port}. Connection refused."
    )
    assert done.stdout == ""
