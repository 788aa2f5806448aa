"""``convhub providers``: add prints the id, list hides secrets, remove and test report plainly."""

from __future__ import annotations

import asyncio
import socket

import pytest

from convhub.connections import service
from convhub.connections.repository import ConnectionLookup
from convhub.db import Database
from convhub.kit.secretbox import SecretBox
from convhub.models import ProviderConnection
from tests.cli.conftest import Invoke, last_line

API_KEY = "sk_live_cli_0123456789abcd77"
WEBHOOK_SECRET = "whsec_cli_secret_value"


async def _load(url: str, connection_id: str) -> ProviderConnection | None:
    database = Database(url)
    try:
        async with database.session() as session:
            return await ConnectionLookup(session).get(connection_id)
    finally:
        await database.dispose()


def stored(url: str, connection_id: str) -> ProviderConnection | None:
    return asyncio.run(_load(url, connection_id))


def _add(cli: Invoke, *args: str, workspace: str = "acme") -> str:
    result = cli("providers", "add", *args, "--workspace", workspace)
    assert result.exit_code == 0, result.output
    return last_line(result.stdout)


def test_add_prints_the_connection_id_last_and_stores_the_key_encrypted(cli: Invoke, db_url: str) -> None:
    result = cli("providers", "add", "retell", "--workspace", "acme", "--api-key", API_KEY,
                 "--webhook-secret", WEBHOOK_SECRET, "--base-url", "http://127.0.0.1:8100",
                 "--sync-interval", "120", "--unknown-agents", "skip", "--max-concurrency", "5",
                 "--name", "Retell EU", "--webhook-option", "tolerance=300", "--webhook-option", "mode=strict")

    assert result.exit_code == 0, result.output
    connection_id = last_line(result.stdout)
    assert result.stdout.strip() == connection_id  # CONN=$(convhub providers add …) works
    assert API_KEY not in result.output and WEBHOOK_SECRET not in result.output
    row = stored(db_url, connection_id)
    assert row is not None
    assert (row.provider, row.name, row.base_url) == ("retell", "Retell EU", "http://127.0.0.1:8100")
    assert (row.sync_interval_secs, row.unknown_agents, row.max_concurrency) == (120, "skip", 5)
    assert row.webhook_options == {"tolerance": 300, "mode": "strict"}
    assert row.next_sync_at is not None
    assert API_KEY not in row.api_key_encrypted
    box = SecretBox("test-secret")  # CONVHUB_SECRET_KEY of the CLI tests: the server reads what the CLI wrote
    assert (service.api_key(row, box), service.webhook_secret(row, box)) == (API_KEY, WEBHOOK_SECRET)


def test_list_shows_connections_without_secrets(cli: Invoke) -> None:
    mine = _add(cli, "elevenlabs", "--api-key", API_KEY, "--webhook-secret", WEBHOOK_SECRET, "--name", "Main")
    _add(cli, "vapi", "--api-key", "vapi-key-of-another-team", "--name", "not-mine", workspace="globex")

    result = cli("providers", "list", "--workspace", "acme")

    assert result.exit_code == 0, result.output
    assert mine in result.stdout
    assert "Main" in result.stdout and "elevenlabs" in result.stdout
    assert "…cd77" in result.stdout  # the hint, to recognise the key by
    assert API_KEY not in result.output and WEBHOOK_SECRET not in result.output
    assert "not-mine" not in result.stdout


def test_remove_deletes_the_connection(cli: Invoke, db_url: str) -> None:
    gone = _add(cli, "vapi", "--api-key", API_KEY)
    kept = _add(cli, "vapi", "--api-key", API_KEY)

    result = cli("providers", "remove", gone, "--workspace", "acme")

    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == gone
    assert stored(db_url, gone) is None
    assert stored(db_url, kept) is not None
    listing = cli("providers", "list", "--workspace", "acme").stdout
    assert kept in listing and gone not in listing


def test_remove_in_another_workspace_fails_cleanly(cli: Invoke, db_url: str) -> None:
    connection_id = _add(cli, "vapi", "--api-key", API_KEY)
    cli("keys", "create", "--workspace", "globex")

    result = cli("providers", "remove", connection_id, "--workspace", "globex")

    assert result.exit_code == 1
    assert f"Provider connection {connection_id!r} not found" in result.stderr
    assert "Traceback" not in result.output
    assert stored(db_url, connection_id) is not None


def test_test_of_an_unreachable_vendor_exits_1_with_the_reason(cli: Invoke) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connection_id = _add(cli, "vapi", "--api-key", API_KEY, "--base-url", f"http://127.0.0.1:{port}")

    result = cli("providers", "test", connection_id, "--workspace", "acme")

    assert result.exit_code == 1, result.output
    assert "connection failed" in last_line(result.stdout)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["twilio", "--api-key", API_KEY], "unknown provider 'twilio'; choose one of: elevenlabs, retell, vapi"),
        (["vapi", "--api-key", ""], "--api-key: Value error, must not be empty"),
        (["vapi", "--api-key", API_KEY, "--base-url", "ftp://x"], "--base-url: Value error, must be an http://"),
        (["vapi", "--api-key", API_KEY, "--sync-interval", "3"], "--sync-interval: Input should be greater than"),
        (["vapi", "--api-key", API_KEY, "--unknown-agents", "drop"], "--unknown-agents: Input should be 'create'"),
        (["vapi", "--api-key", API_KEY, "--webhook-option", "novalue"], "invalid --webhook-option 'novalue'"),
        (["retell", "--api-key", "key_caf\u00e9"], "--api-key: Value error, must not contain non-ASCII characters "
                                                   "(one at position 8): it is sent in an HTTP header"),
        (["vapi", "--api-key", "key\nmore"], "--api-key: Value error, must not contain control characters"),
        (["vapi", "--api-key", API_KEY, "--webhook-secret", "s\u00e9cret"],
         "--webhook-secret: Value error, must not contain non-ASCII characters"),
    ],
)
def test_bad_input_is_a_usage_error(cli: Invoke, db_url: str, args: list[str], message: str) -> None:
    result = cli("providers", "add", *args, "--workspace", "acme")

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
    # Refused before anything was written: not even the workspace exists.
    assert "No workspace named 'acme'" in cli("providers", "list", "--workspace", "acme").stderr
