"""``/v1/providers``: connections are created, read, changed, tested and removed; secrets never come back."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any, ClassVar

import httpx
import pytest
from sqlalchemy import select

from convhub.connections import service
from convhub.connections.repository import ConnectionLookup, ConnectionRepository
from convhub.db import Database
from convhub.kit.secretbox import SecretBox, SecretUnreadable
from convhub.kit.time import utcnow
from convhub.models import AuditLog, ProviderConnection
from convhub.providers.base import AuthenticationFailed
from convhub.providers.registry import PROVIDER_NAMES
from tests.conftest import make_key

URL = "/v1/providers"
API_KEY = "sk_live_9a8b7c6d5e4f3a2b1c0dd4f2"
WEBHOOK_SECRET = "whsec_Zt4Qk9PnW2xY"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"provider": "elevenlabs", "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET}
    body.update(overrides)
    return body


async def _create(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post(URL, json=_body(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _assert_no_secrets(response: httpx.Response, *secrets: str) -> None:
    for secret in (API_KEY, WEBHOOK_SECRET, *secrets):
        assert secret not in response.text
    for field in ("api_key", "webhook_secret", "api_key_encrypted", "webhook_secret_encrypted"):
        assert f'"{field}"' not in response.text


async def _stored(database: Database, connection_id: str) -> ProviderConnection:
    async with database.session() as session:
        row = (await session.execute(
            select(ProviderConnection).where(ProviderConnection.id == connection_id)
        )).scalar_one()
    return row


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens on it any more: connecting is refused


# ------------------------------------------------------------------ create / read


async def test_create_answers_with_the_connection_and_never_its_secrets(authed: httpx.AsyncClient) -> None:
    response = await authed.post(URL, json=_body(base_url="http://127.0.0.1:9/v1/", webhook_options={"tolerance": 300}))

    assert response.status_code == 201, response.text
    _assert_no_secrets(response)
    created = response.json()
    assert created["id"].startswith("conn_")
    assert created["provider"] == "elevenlabs"
    assert created["name"] == "elevenlabs connection"
    assert created["base_url"] == "http://127.0.0.1:9/v1"  # the trailing slash is dropped
    assert created["api_key_hint"] == "…d4f2"
    assert created["has_webhook_secret"] is True
    assert created["webhook_url"] == f"/v1/webhooks/elevenlabs/{created['id']}"
    assert created["webhook_options"] == {"tolerance": 300}
    assert created["unknown_agents"] == "create"
    assert created["max_concurrency"] == 15
    assert created["sync_interval_secs"] is None
    assert created["next_sync_at"] is None  # no schedule, nothing due
    assert created["watermark"] is None
    assert created["full_sync_done"] is False


async def test_a_short_key_is_not_given_away_by_its_hint(authed: httpx.AsyncClient) -> None:
    created = await _create(authed, api_key="abcdefgh")

    assert created["api_key_hint"] == "…gh"


async def test_the_key_is_stored_encrypted_and_decrypts_back(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed)

    row = await _stored(database, created["id"])
    assert API_KEY not in row.api_key_encrypted
    assert row.webhook_secret_encrypted is not None
    assert WEBHOOK_SECRET not in row.webhook_secret_encrypted
    box = SecretBox("test-secret")  # the app's secret key in the test settings
    assert service.api_key(row, box) == API_KEY
    assert service.webhook_secret(row, box) == WEBHOOK_SECRET
    with pytest.raises(SecretUnreadable, match="another CONVHUB_SECRET_KEY"):
        service.api_key(row, SecretBox("some-other-secret"))


async def test_list_and_get_show_the_workspace_connections(authed: httpx.AsyncClient) -> None:
    first = await _create(authed, name="EU account")
    second = await _create(authed, provider="retell", api_key="key_retell_0000aa11", webhook_secret=None,
                           sync_interval_secs=300, unknown_agents="skip", max_concurrency=4)

    listing = await authed.get(URL)
    got = await authed.get(f"{URL}/{second['id']}")

    assert listing.status_code == 200
    _assert_no_secrets(listing, "key_retell_0000aa11")
    assert [c["id"] for c in listing.json()["data"]] == [first["id"], second["id"]]
    assert got.status_code == 200
    _assert_no_secrets(got, "key_retell_0000aa11")
    shown = got.json()
    assert shown == listing.json()["data"][1]
    assert (shown["provider"], shown["name"], shown["has_webhook_secret"]) == ("retell", "retell connection", False)
    assert (shown["unknown_agents"], shown["max_concurrency"], shown["sync_interval_secs"]) == ("skip", 4, 300)
    assert shown["next_sync_at"] is not None  # a schedule makes the first sync due at once


async def test_get_of_an_unknown_id_is_404(authed: httpx.AsyncClient) -> None:
    response = await authed.get(f"{URL}/conn_nope")

    assert response.status_code == 404
    assert response.json()["detail"]["message"] == "Provider connection 'conn_nope' not found."


# ------------------------------------------------------------------ update / delete


async def test_patch_changes_only_what_is_sent(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed, base_url="https://api.example.com")

    response = await authed.patch(f"{URL}/{created['id']}", json={"name": "Support line", "max_concurrency": 3})

    assert response.status_code == 200, response.text
    _assert_no_secrets(response)
    updated = response.json()
    assert (updated["name"], updated["max_concurrency"]) == ("Support line", 3)
    assert updated["base_url"] == "https://api.example.com"
    assert updated["has_webhook_secret"] is True
    assert updated["api_key_hint"] == "…d4f2"
    assert updated["updated_at"] >= created["updated_at"]
    assert (await authed.get(f"{URL}/{created['id']}")).json() == updated
    assert service.api_key(await _stored(database, created["id"]), SecretBox("test-secret")) == API_KEY


async def test_patch_replaces_the_key_and_clears_with_null(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed, base_url="https://api.example.com")
    new_key = "sk_live_rotated_000000009b1e"

    response = await authed.patch(f"{URL}/{created['id']}",
                                  json={"api_key": new_key, "webhook_secret": None, "base_url": None})

    assert response.status_code == 200, response.text
    _assert_no_secrets(response, new_key)
    updated = response.json()
    assert updated["api_key_hint"] == "…9b1e"
    assert updated["has_webhook_secret"] is False
    assert updated["base_url"] is None
    row = await _stored(database, created["id"])
    assert new_key not in row.api_key_encrypted
    assert service.api_key(row, SecretBox("test-secret")) == new_key
    assert row.webhook_secret_encrypted is None


async def test_setting_an_interval_makes_a_sync_due_and_null_removes_the_schedule(
    authed: httpx.AsyncClient, database: Database
) -> None:
    created = await _create(authed)
    before = utcnow()

    scheduled = (await authed.patch(f"{URL}/{created['id']}", json={"sync_interval_secs": 60})).json()

    assert scheduled["sync_interval_secs"] == 60
    assert scheduled["next_sync_at"] is not None
    async with database.session() as session:
        assert [c.id for c in await ConnectionLookup(session).due_for_sync(utcnow())] == [created["id"]]
        next_sync_at = (await _stored(database, created["id"])).next_sync_at
        assert next_sync_at is not None and next_sync_at >= before - timedelta(seconds=1)

    unscheduled = (await authed.patch(f"{URL}/{created['id']}", json={"sync_interval_secs": None})).json()

    assert (unscheduled["sync_interval_secs"], unscheduled["next_sync_at"]) == (None, None)
    async with database.session() as session:
        assert await ConnectionLookup(session).due_for_sync(utcnow()) == []


async def test_delete_removes_the_connection(authed: httpx.AsyncClient) -> None:
    kept = await _create(authed)
    gone = await _create(authed)

    response = await authed.delete(f"{URL}/{gone['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert (await authed.get(f"{URL}/{gone['id']}")).status_code == 404
    assert [c["id"] for c in (await authed.get(URL)).json()["data"]] == [kept["id"]]
    assert (await authed.delete(f"{URL}/{gone['id']}")).status_code == 404


async def test_changes_are_audited_without_secrets(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed)
    await authed.patch(f"{URL}/{created['id']}", json={"api_key": "sk_live_rotated_00000000ffff"})
    await authed.delete(f"{URL}/{created['id']}")

    async with database.session() as session:
        entries = list((await session.execute(
            select(AuditLog).where(AuditLog.target_id == created["id"]).order_by(AuditLog.id)
        )).scalars())

    assert [e.action for e in entries] == ["provider_connection.created", "provider_connection.updated",
                                           "provider_connection.deleted"]
    assert entries[1].detail == {"fields": ["api_key"]}
    assert all(e.actor and e.actor.startswith("key_") for e in entries)
    text = repr([e.detail for e in entries])
    assert API_KEY not in text and WEBHOOK_SECRET not in text and "sk_live_rotated" not in text


# ------------------------------------------------------------------ tenancy and scopes


async def test_another_workspace_cannot_see_or_touch_a_connection(
    authed: httpx.AsyncClient, database: Database
) -> None:
    created = await _create(authed)
    other = {"xi-api-key": await make_key(database, "globex")}
    path = f"{URL}/{created['id']}"

    assert (await authed.get(URL, headers=other)).json() == {"data": []}
    for response in (
        await authed.get(path, headers=other),
        await authed.patch(path, json={"name": "mine now"}, headers=other),
        await authed.delete(path, headers=other),
        await authed.post(f"{path}/test", headers=other),
    ):
        assert response.status_code == 404, response.request.method

    unchanged = (await authed.get(path)).json()
    assert unchanged["name"] == "elevenlabs connection"


async def test_unscoped_lookups_find_connections_of_every_workspace(
    authed: httpx.AsyncClient, database: Database
) -> None:
    mine = await _create(authed, sync_interval_secs=30)
    theirs = (await authed.post(URL, json=_body(sync_interval_secs=30),
                                headers={"xi-api-key": await make_key(database, "globex")})).json()
    await _create(authed)  # no schedule: never due

    async with database.session() as session:
        due = {c.id for c in await ConnectionLookup(session).due_for_sync(utcnow())}
        found = await ConnectionLookup(session).get(theirs["id"])
        assert found is not None
        assert await ConnectionRepository(session, found.workspace_id).get(mine["id"]) is None  # scoped: not theirs
        found.next_sync_at = utcnow() + timedelta(minutes=5)  # as if it had just synced

    assert due == {mine["id"], theirs["id"]}
    assert found.workspace_id != (await _stored(database, mine["id"])).workspace_id
    async with database.session() as session:
        assert [c.id for c in await ConnectionLookup(session).due_for_sync(utcnow())] == [mine["id"]]
        assert await ConnectionLookup(session).get("conn_nope") is None


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", URL), ("GET", URL), ("GET", f"{URL}/conn_x"), ("PATCH", f"{URL}/conn_x"),
     ("DELETE", f"{URL}/conn_x"), ("POST", f"{URL}/conn_x/test")],
)
async def test_every_route_needs_the_sync_scope(
    client: httpx.AsyncClient, database: Database, method: str, path: str
) -> None:
    reader = await make_key(database, scopes="conversations:read,conversations:write")
    body = _body() if method == "POST" and path == URL else ({"name": "x"} if method == "PATCH" else None)

    denied = await client.request(method, path, json=body, headers={"xi-api-key": reader})
    anonymous = await client.request(method, path, json=body)

    assert denied.status_code == 403
    assert "lacks the 'sync' scope" in denied.json()["detail"]["message"]
    assert anonymous.status_code == 401


# ------------------------------------------------------------------ bad input


def _issues(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    return " | ".join(f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in response.json()["detail"])


BAD_BODIES: list[tuple[dict[str, Any], str, str]] = [
    (_body(provider="twilio"), "body.provider", "'elevenlabs', 'retell' or 'vapi'"),
    ({"api_key": API_KEY}, "body.provider", "Field required"),
    (_body(api_key=""), "body.api_key", "must not be empty"),
    (_body(api_key="   "), "body.api_key", "must not be empty"),
    ({"provider": "vapi"}, "body.api_key", "Field required"),
    (_body(api_key="line\nbreak"), "body.api_key", "control characters"),
    # Sent as HTTP header values: refused here rather than answering the first vendor call with a 500.
    (_body(api_key="sk_caf\u00e9_9a8b"), "body.api_key",
     "non-ASCII characters (one at position 7): it is sent in an HTTP header"),
    (_body(api_key="sk_\u20ac_9a8b"), "body.api_key", "non-ASCII characters (one at position 4)"),
    (_body(api_key="sk_9a8b\r\nX-Injected: 1"), "body.api_key", "control characters (one at position 8): it is sent"),
    (_body(webhook_secret="whsec_\u00fc"), "body.webhook_secret", "non-ASCII characters"),
    (_body(webhook_secret="whsec\tx"), "body.webhook_secret", "control characters"),
    (_body(base_url="ftp://files.example.com"), "body.base_url", "http:// or https:// URL"),
    (_body(base_url="not a url"), "body.base_url", "http:// or https:// URL"),
    (_body(base_url="https://api.example.com/?token=1"), "body.base_url", "query string"),
    (_body(sync_interval_secs=5), "body.sync_interval_secs", "greater than or equal to 10"),
    (_body(sync_interval_secs="often"), "body.sync_interval_secs", "valid integer"),
    (_body(max_concurrency=0), "body.max_concurrency", "greater than or equal to 1"),
    (_body(max_concurrency=101), "body.max_concurrency", "less than or equal to 100"),
    (_body(unknown_agents="ignore"), "body.unknown_agents", "'create' or 'skip'"),
    (_body(name=""), "body.name", "must not be empty"),
    (_body(webhook_options="tolerance=300"), "body.webhook_options", "valid dictionary"),
    (_body(webhook_options={"x": "a\u0000b"}), "body.webhook_options", "NUL character"),
    (_body(api_secret="oops"), "body.api_secret", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "loc", "message"), BAD_BODIES, ids=[f"{b[1]}:{b[2]}" for b in BAD_BODIES])
async def test_a_bad_body_is_422_saying_what_is_wrong(
    authed: httpx.AsyncClient, body: dict[str, Any], loc: str, message: str
) -> None:
    response = await authed.post(URL, json=body)

    issues = _issues(response)
    assert f"{loc}: " in issues and message in issues, issues
    assert (await authed.get(URL)).json() == {"data": []}  # nothing was created


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"api_key": None}, "body.api_key", "cannot be null"),
        ({"name": None}, "body.name", "cannot be null"),
        ({"provider": "retell"}, "body.provider", "Extra inputs are not permitted"),
        ({"sync_interval_secs": 1}, "body.sync_interval_secs", "greater than or equal to 10"),
        ({"base_url": "mailto:a@b.c"}, "body.base_url", "http:// or https:// URL"),
        ({"api_key": "sk_caf\u00e9"}, "body.api_key", "non-ASCII characters (one at position 7): it is sent"),
        ({"api_key": "sk\nx"}, "body.api_key", "control characters (one at position 3)"),
        ({"webhook_secret": "\u5bc6\u94a5"}, "body.webhook_secret", "non-ASCII characters (one at position 1)"),
    ],
)
async def test_a_bad_patch_is_422_and_changes_nothing(
    authed: httpx.AsyncClient, body: dict[str, Any], loc: str, message: str
) -> None:
    created = await _create(authed)

    issues = _issues(await authed.patch(f"{URL}/{created['id']}", json=body))

    assert f"{loc}: " in issues and message in issues, issues
    assert (await authed.get(f"{URL}/{created['id']}")).json() == created


# ------------------------------------------------------------------ testing a connection


class FakeProvider:
    """Stands in for a vendor client: ``check`` passes or raises what it is given."""

    name: ClassVar[str] = "elevenlabs"

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.closed = False

    async def check(self) -> None:
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def fake_vendor(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {"error": None}

    def build(name: str, **options: Any) -> FakeProvider:
        provider = FakeProvider(seen["error"])
        seen.update(name=name, provider=provider, **options)
        return provider

    monkeypatch.setattr(service, "build_provider", build)
    return seen


async def test_a_connection_that_answers_tests_ok(
    authed: httpx.AsyncClient, database: Database, fake_vendor: dict[str, Any]
) -> None:
    created = await _create(authed, base_url="https://eu.example.com", max_concurrency=7)
    row = await _stored(database, created["id"])

    result = await service.test_connection(row, SecretBox("test-secret"))

    assert result.ok is True
    assert "accepted the API key" in result.message
    assert (fake_vendor["name"], fake_vendor["api_key"]) == ("elevenlabs", API_KEY)  # the decrypted key
    assert (fake_vendor["base_url"], fake_vendor["max_concurrency"]) == ("https://eu.example.com", 7)
    assert fake_vendor["provider"].closed


async def test_a_refused_key_tests_failed_with_the_vendor_reason(
    authed: httpx.AsyncClient, database: Database, fake_vendor: dict[str, Any]
) -> None:
    created = await _create(authed)
    fake_vendor["error"] = AuthenticationFailed("GET /v1/user: the provider rejected the API key (HTTP 401)",
                                                status_code=401)

    result = await service.test_connection(await _stored(database, created["id"]), SecretBox("test-secret"))

    assert result.ok is False
    assert result.message == "GET /v1/user: the provider rejected the API key (HTTP 401)"
    assert fake_vendor["provider"].closed  # closed on failure too


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
async def test_an_unreachable_vendor_is_a_failed_test_not_a_500(authed: httpx.AsyncClient, provider: str) -> None:
    created = await _create(authed, provider=provider, base_url=f"http://127.0.0.1:{_closed_port()}")

    response = await authed.post(f"{URL}/{created['id']}/test")

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is False
    assert "connection failed" in result["message"]
    _assert_no_secrets(response)
