"""Provider connections: create, read, change, remove, and open one as a live :class:`Provider`.

Functions take the session first and never commit. Secrets are encrypted with
the :class:`~convhub.kit.secretbox.SecretBox` on the way in and decrypted only
to talk to the vendor; nothing here puts a secret in a return value meant for
a client or in the audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from convhub.connections.repository import ConnectionRepository
from convhub.connections.schemas import ConnectionCreate, ConnectionRead, ConnectionTest, ConnectionUpdate
from convhub.errors import NotFound
from convhub.kit.ids import new_id
from convhub.kit.secretbox import SecretBox
from convhub.kit.time import utcnow
from convhub.models import ProviderConnection
from convhub.privacy.audit import record
from convhub.providers.base import Provider, ProviderError
from convhub.providers.registry import build_provider

# A connection test is a person waiting on a button: one retry, a short timeout.
TEST_ATTEMPTS = 2
TEST_TIMEOUT_SECS = 10.0


def key_hint(secret: str) -> str:
    """The last characters of a key, to recognise it by: four at most, and never more than a quarter of it."""
    shown = min(4, len(secret) // 4)
    return secret[-shown:] if shown else ""


def webhook_path(connection: ProviderConnection) -> str:
    return f"/v1/webhooks/{connection.provider}/{connection.id}"


def to_read(connection: ProviderConnection) -> ConnectionRead:
    state = connection.sync_state or {}
    watermark = state.get("watermark")
    return ConnectionRead(
        id=connection.id,
        provider=connection.provider,
        name=connection.name,
        base_url=connection.base_url,
        api_key_hint="…" + connection.api_key_hint,
        has_webhook_secret=connection.webhook_secret_encrypted is not None,
        webhook_url=webhook_path(connection),
        webhook_options=connection.webhook_options or {},
        sync_interval_secs=connection.sync_interval_secs,
        unknown_agents=connection.unknown_agents,
        max_concurrency=connection.max_concurrency,
        last_sync_at=connection.last_sync_at,
        next_sync_at=connection.next_sync_at,
        watermark=str(watermark) if watermark is not None else None,
        full_sync_done=bool(state.get("full_done")),
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


async def create_connection(
    session: AsyncSession, workspace_id: str, body: ConnectionCreate, box: SecretBox, *, actor: str | None
) -> ProviderConnection:
    now = utcnow()
    connection = ProviderConnection(
        id=new_id("conn"),
        workspace_id=workspace_id,
        provider=body.provider,
        name=body.name or f"{body.provider} connection",
        base_url=body.base_url,
        api_key_encrypted=box.encrypt(body.api_key),
        api_key_hint=key_hint(body.api_key),
        webhook_secret_encrypted=box.encrypt(body.webhook_secret) if body.webhook_secret is not None else None,
        webhook_options=dict(body.webhook_options),
        sync_interval_secs=body.sync_interval_secs,
        unknown_agents=body.unknown_agents,
        max_concurrency=body.max_concurrency,
        sync_state={},
        next_sync_at=now if body.sync_interval_secs is not None else None,
        created_at=now,
        updated_at=now,
    )
    await ConnectionRepository(session, workspace_id).insert(connection)
    await record(session, workspace_id, actor=actor, action="provider_connection.created",
                 target_type="provider_connection", target_id=connection.id,
                 detail={"provider": connection.provider, "name": connection.name,
                         "base_url": connection.base_url, "sync_interval_secs": connection.sync_interval_secs})
    return connection


async def list_connections(session: AsyncSession, workspace_id: str) -> list[ProviderConnection]:
    return await ConnectionRepository(session, workspace_id).all()


async def get_connection(session: AsyncSession, workspace_id: str, connection_id: str) -> ProviderConnection:
    connection = await ConnectionRepository(session, workspace_id).get(connection_id)
    if connection is None:
        raise NotFound(f"Provider connection {connection_id!r} not found.")
    return connection


async def update_connection(
    session: AsyncSession,
    workspace_id: str,
    connection_id: str,
    body: ConnectionUpdate,
    box: SecretBox,
    *,
    actor: str | None,
) -> ProviderConnection:
    """Change the fields sent; ``None`` for base_url, webhook_secret or sync_interval_secs clears them."""
    connection = await get_connection(session, workspace_id, connection_id)
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    for name in ("name", "base_url", "unknown_agents", "max_concurrency"):
        if name in sent:
            values[name] = getattr(body, name)
    if "webhook_options" in sent and body.webhook_options is not None:
        values["webhook_options"] = dict(body.webhook_options)
    if "api_key" in sent and body.api_key is not None:
        values["api_key_encrypted"] = box.encrypt(body.api_key)
        values["api_key_hint"] = key_hint(body.api_key)
    if "webhook_secret" in sent:
        secret = body.webhook_secret
        values["webhook_secret_encrypted"] = box.encrypt(secret) if secret is not None else None
    if "sync_interval_secs" in sent:
        values["sync_interval_secs"] = body.sync_interval_secs
        # A new schedule starts now; no schedule means nothing is due.
        values["next_sync_at"] = utcnow() if body.sync_interval_secs is not None else None
    if not values:
        return connection
    for name, value in values.items():
        setattr(connection, name, value)
    connection.updated_at = utcnow()
    await ConnectionRepository(session, workspace_id).save(connection)
    await record(session, workspace_id, actor=actor, action="provider_connection.updated",
                 target_type="provider_connection", target_id=connection.id,
                 detail={"fields": sorted(sent)})  # names only: the values may be secrets
    return connection


async def delete_connection(
    session: AsyncSession, workspace_id: str, connection_id: str, *, actor: str | None
) -> ProviderConnection:
    """Remove the connection with its sync history and stored webhook events; its conversations stay."""
    connection = await get_connection(session, workspace_id, connection_id)
    await ConnectionRepository(session, workspace_id).delete(connection.id)
    await record(session, workspace_id, actor=actor, action="provider_connection.deleted",
                 target_type="provider_connection", target_id=connection.id,
                 detail={"provider": connection.provider, "name": connection.name})
    return connection


def api_key(connection: ProviderConnection, box: SecretBox) -> str:
    return box.decrypt(connection.api_key_encrypted)


def webhook_secret(connection: ProviderConnection, box: SecretBox) -> str | None:
    token = connection.webhook_secret_encrypted
    return box.decrypt(token) if token is not None else None


def open_provider(connection: ProviderConnection, box: SecretBox, **overrides: Any) -> Provider:
    """A client for the connection's vendor account (``aclose`` it); ``overrides`` go to ``build_provider``."""
    options: dict[str, Any] = {"base_url": connection.base_url, "max_concurrency": connection.max_concurrency}
    options.update(overrides)
    return build_provider(connection.provider, api_key=api_key(connection, box), **options)


async def test_connection(connection: ProviderConnection, box: SecretBox) -> ConnectionTest:
    """One cheap authenticated call to the vendor: does it answer, and does it accept the key?"""
    provider = open_provider(connection, box, max_attempts=TEST_ATTEMPTS, timeout=TEST_TIMEOUT_SECS)
    try:
        await provider.check()
    except ProviderError as exc:
        return ConnectionTest(ok=False, message=exc.message)
    finally:
        await provider.aclose()
    where = connection.base_url or "its API"
    return ConnectionTest(ok=True, message=f"Connected: {connection.provider} at {where} accepted the API key.")
