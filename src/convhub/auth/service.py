"""Workspaces and API keys: create, list, revoke, authenticate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from convhub.auth.repository import ApiKeyRepository, WorkspaceLookup
from convhub.auth.scopes import ALL_SCOPES
from convhub.errors import NotFound, Unauthorized
from convhub.kit.crypto import generate_api_key, hash_secret
from convhub.kit.ids import new_id
from convhub.kit.time import utcnow
from convhub.models import ApiKey, Workspace

# last_used_at is written at most this often per key, so reads stay reads.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class AuthSubject:
    """Who is calling: the key, its workspace and what it may do."""

    workspace_id: str
    key_id: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


async def ensure_workspace(session: AsyncSession, name: str) -> Workspace:
    lookup = WorkspaceLookup(session)
    workspace = await lookup.by_name(name)
    if workspace is None:
        workspace = Workspace(id=new_id("ws"), name=name)
        await lookup.add(workspace)
    return workspace


async def get_workspace(session: AsyncSession, name: str) -> Workspace:
    workspace = await WorkspaceLookup(session).by_name(name)
    if workspace is None:
        raise NotFound(f"No workspace named {name!r}.")
    return workspace


async def create_key(
    session: AsyncSession, workspace: Workspace, *, scopes: list[str] | None = None, name: str | None = None
) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is shown once and only its hash is stored."""
    secret = generate_api_key()
    key = ApiKey(
        id=new_id("key"),
        workspace_id=workspace.id,
        name=name,
        prefix=secret[:12],
        secret_hash=hash_secret(secret),
        scopes=list(scopes or ALL_SCOPES),
    )
    await ApiKeyRepository(session, workspace.id).add(key)
    return key, secret


async def list_keys(session: AsyncSession, workspace: Workspace) -> list[ApiKey]:
    return await ApiKeyRepository(session, workspace.id).all()


async def revoke_key(session: AsyncSession, workspace: Workspace, key_ref: str) -> ApiKey:
    """Revoke by key id or visible prefix."""
    for key in await ApiKeyRepository(session, workspace.id).all():
        if key_ref in (key.id, key.prefix):
            if key.revoked_at is None:
                key.revoked_at = utcnow()
            return key
    raise NotFound(f"No API key {key_ref!r} in workspace {workspace.name!r}.")


async def authenticate(session: AsyncSession, secret: str | None) -> AuthSubject:
    if not secret:
        raise Unauthorized("Missing API key: send it as 'xi-api-key: <key>' or 'Authorization: Bearer <key>'.")
    key = await WorkspaceLookup(session).key_by_hash(hash_secret(secret))
    if key is None:
        raise Unauthorized("Invalid API key.")
    if key.revoked_at is not None:
        raise Unauthorized("This API key has been revoked.")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY:
        await WorkspaceLookup(session).touch_key(key.id, now)
    return AuthSubject(workspace_id=key.workspace_id, key_id=key.id, scopes=frozenset(key.scopes))
