"""``convhub keys``: create, list and revoke a workspace's API keys."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from convhub.auth.scopes import ALL_SCOPES, parse_scopes
from convhub.cli._common import Workspace, fail, note, out, run

if TYPE_CHECKING:
    from convhub.config import Settings
    from convhub.models import ApiKey

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@app.command("create")
def create(
    workspace: Workspace = "default",
    scopes: Annotated[
        str, typer.Option(help=f"Comma-separated scopes, or 'all'. Known: {', '.join(ALL_SCOPES)}.")
    ] = "all",
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by.")] = None,
) -> None:
    """Create an API key (and the workspace if needed). The secret is the last line of stdout, shown once."""
    try:
        scope_list = parse_scopes(scopes)
    except ValueError as exc:
        fail(f"invalid --scopes: {exc}", code=2)
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    key, secret = run(_create(settings, workspace, scope_list, name))
    note(f"Created API key [bold]{key.id}[/] ({key.prefix}…) in workspace '{workspace}' "
         f"with scopes: {_scopes(key.scopes)}. Keep the secret now: it is not shown again.")
    out(secret)


async def _create(settings: Settings, workspace: str, scopes: list[str], name: str | None) -> tuple[ApiKey, str]:
    from convhub.auth.service import create_key, ensure_workspace
    from convhub.cli._database import open_database
    from convhub.privacy.audit import record

    async with open_database(settings) as database, database.session() as session:
        ws = await ensure_workspace(session, workspace)
        key, secret = await create_key(session, ws, scopes=scopes, name=name)
        await record(session, ws.id, actor="cli", action="api_key.created", target_type="api_key",
                     target_id=key.id, detail={"prefix": key.prefix, "scopes": key.scopes, "name": name})
    return key, secret


@app.command("list")
def list_(workspace: Workspace = "default") -> None:
    """List a workspace's API keys (secrets are never shown, only their prefix)."""
    from rich.console import Console
    from rich.table import Table

    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    keys = run(_list(settings, workspace))
    if not keys:
        note(f"No API keys in workspace '{workspace}'. Create one with: convhub keys create --workspace {workspace}")
        return
    table = Table(title=f"API keys of workspace '{workspace}'", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("prefix", no_wrap=True)
    table.add_column("name")
    table.add_column("scopes")
    table.add_column("created", no_wrap=True)
    table.add_column("last used", no_wrap=True)
    table.add_column("revoked", no_wrap=True)
    for key in keys:
        table.add_row(key.id, key.prefix + "…", key.name or "", _scopes(key.scopes), _when(key.created_at),
                      _when(key.last_used_at), _when(key.revoked_at) if key.revoked_at else "no")
    # Piped output has no terminal width; keep rows whole rather than wrapped at 80 columns.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


async def _list(settings: Settings, workspace: str) -> list[ApiKey]:
    from convhub.auth.service import get_workspace, list_keys
    from convhub.cli._database import open_database
    from convhub.errors import ConvhubError

    async with open_database(settings) as database, database.session() as session:
        try:
            ws = await get_workspace(session, workspace)
        except ConvhubError as exc:
            fail(exc.message)
        return await list_keys(session, ws)


@app.command("revoke")
def revoke(
    key_ref: Annotated[str, typer.Argument(metavar="KEY_ID_OR_PREFIX", help="The key's id (key_…) or prefix (chk_…).")],
    workspace: Workspace = "default",
) -> None:
    """Revoke an API key: requests with it are refused from now on. Prints the key id."""
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    key, newly = run(_revoke(settings, workspace, key_ref.rstrip("…")))
    if newly:
        note(f"Revoked API key [bold]{key.id}[/] ({key.prefix}…) in workspace '{workspace}'.")
    else:
        note(f"API key [bold]{key.id}[/] ({key.prefix}…) was already revoked on {_when(key.revoked_at)}.")
    out(key.id)


async def _revoke(settings: Settings, workspace: str, key_ref: str) -> tuple[ApiKey, bool]:
    from convhub.auth.service import get_workspace, list_keys, revoke_key
    from convhub.cli._database import open_database
    from convhub.errors import ConvhubError
    from convhub.privacy.audit import record

    async with open_database(settings) as database, database.session() as session:
        try:
            ws = await get_workspace(session, workspace)
            was_active = any(k.revoked_at is None and key_ref in (k.id, k.prefix) for k in await list_keys(session, ws))
            key = await revoke_key(session, ws, key_ref)
        except ConvhubError as exc:
            fail(exc.message)
        if was_active:
            await record(session, ws.id, actor="cli", action="api_key.revoked", target_type="api_key",
                         target_id=key.id, detail={"prefix": key.prefix})
        return key, was_active


def _scopes(scopes: list[str]) -> str:
    return "all" if set(scopes) >= set(ALL_SCOPES) else ", ".join(scopes)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"
