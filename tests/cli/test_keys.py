"""``convhub keys``: the printed secret works, scopes are checked, list shows keys, revoke stops them."""

from __future__ import annotations

import pytest

from convhub.errors import Unauthorized
from tests.cli.conftest import Invoke, authenticate_with, last_line


def test_create_prints_a_working_key_as_the_last_line(cli: Invoke, db_url: str) -> None:
    result = cli("keys", "create", "--workspace", "acme", "--name", "ci")

    assert result.exit_code == 0, result.output
    secret = last_line(result.stdout)
    assert result.stdout.strip() == secret  # nothing else on stdout: KEY=$(convhub keys create …) works
    subject = authenticate_with(db_url, secret)
    assert subject.has("admin")
    assert "acme" in result.stderr


def test_create_with_scopes_limits_the_key(cli: Invoke, db_url: str) -> None:
    result = cli("keys", "create", "--workspace", "acme", "--scopes", "conversations:read, sync")

    assert result.exit_code == 0, result.output
    subject = authenticate_with(db_url, last_line(result.stdout))
    assert subject.scopes == {"conversations:read", "sync"}
    assert not subject.has("conversations:write")


def test_keys_of_one_workspace_do_not_open_another(cli: Invoke, db_url: str) -> None:
    first = authenticate_with(db_url, last_line(cli("keys", "create", "-w", "acme").stdout))
    second = authenticate_with(db_url, last_line(cli("keys", "create", "-w", "globex").stdout))
    again = authenticate_with(db_url, last_line(cli("keys", "create", "-w", "acme").stdout))

    assert first.workspace_id != second.workspace_id
    assert again.workspace_id == first.workspace_id  # the workspace is reused, not created twice


def test_unknown_scope_is_a_usage_error(cli: Invoke) -> None:
    result = cli("keys", "create", "--workspace", "acme", "--scopes", "conversations:read,root")

    assert result.exit_code == 2
    assert "unknown scope(s): root" in result.stderr
    assert result.stdout == ""


def test_list_shows_keys_without_their_secrets(cli: Invoke) -> None:
    secret = last_line(cli("keys", "create", "-w", "acme", "--name", "billing-sync", "--scopes", "sync").stdout)
    cli("keys", "create", "-w", "other", "--name", "not-mine")

    result = cli("keys", "list", "--workspace", "acme")

    assert result.exit_code == 0, result.output
    assert secret[:12] in result.stdout
    assert secret not in result.stdout
    assert "billing-sync" in result.stdout
    assert "not-mine" not in result.stdout
    assert "never" in result.stdout  # not used yet


def test_list_of_an_unknown_workspace_fails_cleanly(cli: Invoke) -> None:
    result = cli("keys", "list", "--workspace", "nope")

    assert result.exit_code == 1
    assert "No workspace named 'nope'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("by", ["id", "prefix"])
def test_revoke_makes_the_key_fail_authentication(cli: Invoke, db_url: str, by: str) -> None:
    secret = last_line(cli("keys", "create", "-w", "acme").stdout)
    kept = last_line(cli("keys", "create", "-w", "acme").stdout)
    key_id = authenticate_with(db_url, secret).key_id
    ref = key_id if by == "id" else secret[:12]

    result = cli("keys", "revoke", ref, "--workspace", "acme")

    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == key_id
    with pytest.raises(Unauthorized, match="revoked"):
        authenticate_with(db_url, secret)
    authenticate_with(db_url, kept)  # the other key still works
    listing = cli("keys", "list", "-w", "acme").stdout
    assert listing.count(" no ") == 1  # exactly one key is still unrevoked

    again = cli("keys", "revoke", ref, "--workspace", "acme")
    assert again.exit_code == 0
    assert "already revoked" in again.stderr


def test_revoke_of_an_unknown_key_fails_cleanly(cli: Invoke) -> None:
    cli("keys", "create", "-w", "acme")

    result = cli("keys", "revoke", "key_doesnotexist", "--workspace", "acme")

    assert result.exit_code == 1
    assert "No API key 'key_doesnotexist'" in result.stderr
