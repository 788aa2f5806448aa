"""``convhub providers``: connect, list, test and remove a workspace's vendor accounts.

The same operations as ``/v1/providers``, for setting a server up from a shell
before any API key exists. ``add`` prints the new connection's id as the last
line of stdout, so ``CONN=$(convhub providers add …)`` works; secrets are never
printed.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convhub.cli._common import Workspace, fail, note, out, run
from convhub.providers.registry import PROVIDER_NAMES

if TYPE_CHECKING:
    from convhub.config import Settings
    from convhub.connections.schemas import ConnectionCreate, ConnectionTest
    from convhub.models import ProviderConnection

app = typer.Typer(help="Connect, list, test and remove provider accounts (ElevenLabs, Retell, Vapi).",
                  no_args_is_help=True)

ConnectionRef = Annotated[str, typer.Argument(metavar="CONNECTION_ID", help="The connection's id (conn_…).")]

# CLI option names of the request fields, for error messages.
_OPTION_OF = {
    "provider": "PROVIDER",
    "name": "--name",
    "api_key": "--api-key",
    "base_url": "--base-url",
    "webhook_secret": "--webhook-secret",
    "webhook_options": "--webhook-option",
    "sync_interval_secs": "--sync-interval",
    "unknown_agents": "--unknown-agents",
    "max_concurrency": "--max-concurrency",
}


def _option_value(text: str) -> Any:
    """``key=value`` values are JSON when they parse as JSON (numbers, true, null…), text otherwise."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _webhook_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"invalid --webhook-option {pair!r}: expected key=value", code=2)
        options[key.strip()] = _option_value(value)
    return options


def _request(**fields: Any) -> ConnectionCreate:
    from pydantic import ValidationError

    from convhub.connections.schemas import ConnectionCreate

    try:
        return ConnectionCreate(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{_OPTION_OF.get(str(e['loc'][0]), str(e['loc'][0])) if e['loc'] else 'input'}: {e['msg']}"
            for e in exc.errors()
        )
        fail(f"invalid connection: {problems}", code=2)


@app.command("add")
def add(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", help=f"One of: {', '.join(PROVIDER_NAMES)}.")],
    api_key: Annotated[
        str,
        typer.Option("--api-key", envvar="CONVHUB_PROVIDER_API_KEY",
                     help="The vendor account's API key (stored encrypted, never shown again)."),
    ],
    workspace: Workspace = "default",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The vendor API's base URL (default: the vendor's own).")
    ] = None,
    webhook_secret: Annotated[
        str | None, typer.Option("--webhook-secret", help="The secret the vendor signs webhooks with.")
    ] = None,
    sync_interval: Annotated[
        int | None, typer.Option("--sync-interval", metavar="SECONDS", help="Sync on a schedule (at least 10 s).")
    ] = None,
    unknown_agents: Annotated[
        str, typer.Option("--unknown-agents", metavar="create|skip",
                          help="Conversations of unknown agents: mirror the agent (create) or skip them.")
    ] = "create",
    max_concurrency: Annotated[
        int, typer.Option("--max-concurrency", metavar="N", help="Vendor requests in flight at once (1-100).")
    ] = 15,
    name: Annotated[str | None, typer.Option("--name", help='A label (default "<provider> connection").')] = None,
    webhook_option: Annotated[
        list[str] | None,
        typer.Option("--webhook-option", metavar="KEY=VALUE", help="A vendor webhook setting; repeatable."),
    ] = None,
) -> None:
    """Connect a provider account (and create the workspace if needed). The connection id is the last line."""
    if provider not in PROVIDER_NAMES:
        fail(f"unknown provider {provider!r}; choose one of: {', '.join(PROVIDER_NAMES)}", code=2)
    body = _request(
        provider=provider, name=name, api_key=api_key, base_url=base_url, webhook_secret=webhook_secret,
        webhook_options=_webhook_options(webhook_option or []), sync_interval_secs=sync_interval,
        unknown_agents=unknown_agents, max_concurrency=max_concurrency,
    )
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    connection = run(_add(settings, workspace, body))
    schedule = f"every {connection.sync_interval_secs} s" if connection.sync_interval_secs else "on demand only"
    note(f"Connected {connection.provider} as [bold]{connection.id}[/] ('{connection.name}') in workspace "
         f"'{workspace}'; sync {schedule}. Webhook path: /v1/webhooks/{connection.provider}/{connection.id}")
    out(connection.id)


async def _add(settings: Settings, workspace: str, body: ConnectionCreate) -> ProviderConnection:
    from convhub.auth.service import ensure_workspace
    from convhub.cli._database import open_database
    from convhub.connections.service import create_connection
    from convhub.kit.secretbox import SecretBox

    box = SecretBox(settings.resolved_secret_key)
    async with open_database(settings) as database, database.session() as session:
        ws = await ensure_workspace(session, workspace)
        return await create_connection(session, ws.id, body, box, actor="cli")


@app.command("list")
def list_(workspace: Workspace = "default") -> None:
    """List a workspace's provider connections (secrets are never shown, only the key's last characters)."""
    from rich.console import Console
    from rich.table import Table

    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    connections = run(_list(settings, workspace))
    if not connections:
        note(f"No provider connections in workspace '{workspace}'. "
             f"Add one with: convhub providers add elevenlabs --workspace {workspace} --api-key …")
        return
    table = Table(title=f"Provider connections of workspace '{workspace}'", title_justify="left")
    for column in ("id", "provider", "name", "key", "webhook secret", "base url", "schedule", "unknown agents",
                   "last sync", "next sync"):
        table.add_column(column, no_wrap=column in ("id", "key", "last sync", "next sync"))
    for c in connections:
        table.add_row(
            c.id, c.provider, c.name, "…" + c.api_key_hint, "set" if c.webhook_secret_encrypted else "none",
            c.base_url or "(vendor default)",
            f"every {c.sync_interval_secs} s" if c.sync_interval_secs else "on demand",
            c.unknown_agents, _when(c.last_sync_at), _when(c.next_sync_at) if c.sync_interval_secs else "-",
        )
    # Piped output has no terminal width; keep rows whole rather than wrapped at 80 columns.
    Console(width=None if sys.stdout.isatty() else 240).print(table)


async def _list(settings: Settings, workspace: str) -> list[ProviderConnection]:
    from convhub.auth.service import get_workspace
    from convhub.cli._database import open_database
    from convhub.connections.service import list_connections
    from convhub.errors import ConvhubError

    async with open_database(settings) as database, database.session() as session:
        try:
            ws = await get_workspace(session, workspace)
        except ConvhubError as exc:
            fail(exc.message)
        return await list_connections(session, ws.id)


@app.command("remove")
def remove(connection_id: ConnectionRef, workspace: Workspace = "default") -> None:
    """Remove a connection with its sync history; conversations already synced stay. Prints the id."""
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    connection = run(_remove(settings, workspace, connection_id))
    note(f"Removed {connection.provider} connection [bold]{connection.id}[/] ('{connection.name}') "
         f"from workspace '{workspace}'.")
    out(connection.id)


async def _remove(settings: Settings, workspace: str, connection_id: str) -> ProviderConnection:
    from convhub.auth.service import get_workspace
    from convhub.cli._database import open_database
    from convhub.connections.service import delete_connection
    from convhub.errors import ConvhubError

    async with open_database(settings) as database, database.session() as session:
        try:
            ws = await get_workspace(session, workspace)
            return await delete_connection(session, ws.id, connection_id, actor="cli")
        except ConvhubError as exc:
            fail(exc.message)


@app.command("test")
def test(connection_id: ConnectionRef, workspace: Workspace = "default") -> None:
    """Make one authenticated call to the vendor. Prints the outcome; exit 1 when it failed."""
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    result = run(_test(settings, workspace, connection_id))
    if result.ok:
        note("[green]ok[/]")
        out(result.message)
    else:
        note("[red]failed[/]")
        out(result.message)
        raise typer.Exit(1)


async def _test(settings: Settings, workspace: str, connection_id: str) -> ConnectionTest:
    from convhub.auth.service import get_workspace
    from convhub.cli._database import open_database
    from convhub.connections import service
    from convhub.errors import ConvhubError
    from convhub.kit.secretbox import SecretBox

    box = SecretBox(settings.resolved_secret_key)
    async with open_database(settings) as database, database.session() as session:
        try:
            ws = await get_workspace(session, workspace)
            connection = await service.get_connection(session, ws.id, connection_id)
            return await service.test_connection(connection, box)
        except ConvhubError as exc:
            fail(exc.message)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"
