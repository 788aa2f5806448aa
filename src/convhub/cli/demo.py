"""Demo data: the three provider simulators, connected and synced, with audio and an API key.

``convhub demo`` starts an ElevenLabs, a Retell and a Vapi simulator on loopback
(:func:`demo_simulators`), then :func:`seed_demo` connects the demo workspace to
each (``/v1/providers`` connections, with a sync schedule) and runs the sync
engine against them, so a newcomer sees real-looking conversations from all three
vendors arrive the way a team's own would: listed page by page, details and
recordings fetched, filed through the one ingest path.

It also gives the workspace a chat agent of convhub's own (:func:`_demo_agent`): a
public ``knowledge`` agent answering from a short help-desk document, to try
``convhub chat``, the chat API and the realtime WebSocket on at once.

Re-running on the same data never duplicates anything: the simulated accounts
are generated from a fixed seed over a window anchored on the workspace's
creation time, so every run serves the very same conversations (same provider
ids) and the sync finds them unchanged. The connections are reused (their base
URLs follow the simulators' new ports) and the API key's secret is kept in the
data directory, so the demo hands out the same key each time, until it is revoked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from convhub.agents.repository import AgentRepository
from convhub.agents.schemas import AgentCreate
from convhub.agents.service import add_documents, create_agent
from convhub.auth.service import authenticate, create_key, ensure_workspace
from convhub.config import Settings
from convhub.connections.repository import ConnectionRepository
from convhub.connections.schemas import ConnectionCreate, ConnectionUpdate
from convhub.connections.service import create_connection, open_provider, update_connection
from convhub.conversations.repository import ConversationRepository
from convhub.db import Database
from convhub.errors import Unauthorized
from convhub.kit.secretbox import SecretBox
from convhub.kit.time import as_utc, utcnow
from convhub.models import NATIVE, Workspace
from convhub.privacy.audit import record
from convhub.simulators.common import VENDORS, SimulatorOptions, SimulatorServer
from convhub.storage.local import LocalBlobStore
from convhub.sync.engine import SyncEngine, start_run

__all__ = ["DEMO_DAYS", "DemoInfo", "demo_simulators", "demo_window", "seed_demo"]

DEMO_DAYS = 30
DEMO_SEED = 0
KEYS_FILE = "demo_keys.json"
DEMO_SYNC_INTERVAL_SECS = 300
DEMO_WEBHOOK_SECRET = "demo-webhook-secret"
DEMO_AGENT = "Demo help desk"
DEMO_HELP = """# Shipping

Orders ship from our Rotterdam warehouse within one working day. Delivery in the Netherlands takes one day,
elsewhere in Europe two to four days. Shipping is free above fifty euros, else it costs four euros ninety-five.

# Returns and refunds

Returns are free within thirty days of delivery: print the label from your order page. Refunds reach the
original card five working days after the parcel arrives at the warehouse. Store credit is instant.

# Accounts and billing

Change your plan any time from Settings, Billing; upgrades apply at once and are charged pro rata. Invoices are
emailed on the first of the month. To close your account, write to support; your data is erased within thirty days.

# Opening hours

The support team answers chats Monday to Friday, eight in the morning to six in the evening, Central European Time.
"""


def simulator_key(provider: str) -> str:
    return f"demo-{provider}-key"


@dataclass(frozen=True)
class DemoInfo:
    workspace: str
    workspace_id: str
    api_key: str
    key_reused: bool  # the key kept from an earlier run still works
    conversations: int  # demo conversations now in the workspace
    created: int  # of those, new on this run
    with_audio: int  # of those, how many have audio
    by_provider: dict[str, int]  # conversations per provider
    window_start: datetime
    window_end: datetime
    chat_agent_id: str  # the demo's native knowledge agent


async def demo_window(settings: Settings, workspace: str = "demo") -> tuple[datetime, datetime]:
    """The demo workspace's window (creating the workspace on first use); the simulators serve it."""
    database = Database(settings.resolved_database_url, pool_size=1)
    try:
        async with database.session() as session:
            ws = await ensure_workspace(session, workspace)
        return _window(ws)
    finally:
        await database.dispose()


@contextmanager
def demo_simulators(start: datetime, n: int = 300) -> Iterator[dict[str, str]]:
    """The three simulators on loopback, ``n`` conversations between them; yields provider → base URL."""
    share, extra = divmod(n, len(VENDORS))
    with ExitStack() as stack:
        urls = {}
        for k, provider in enumerate(VENDORS):
            options = SimulatorOptions(
                conversations=share + (1 if k < extra else 0), seed=DEMO_SEED, start=start,
                span_days=DEMO_DAYS - 1, api_key=simulator_key(provider),
            )
            urls[provider] = stack.enter_context(SimulatorServer(provider, options)).url
        yield urls


async def seed_demo(settings: Settings, simulators: Mapping[str, str], workspace: str = "demo") -> DemoInfo:
    """Connect ``workspace`` to each simulator (provider → base URL) and sync them all.

    The database must already be migrated. Idempotent: a second run adds nothing
    and returns the same key.
    """
    database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
    box = SecretBox(settings.resolved_secret_key)
    engine = SyncEngine(database, LocalBlobStore(settings.blob_dir), lambda c: open_provider(c, box))
    created = 0
    try:
        async with database.session() as session:
            ws = await ensure_workspace(session, workspace)
            connection_ids = [await _demo_connection(session, ws, box, p, url) for p, url in simulators.items()]
        for connection_id in connection_ids:
            async with database.session() as session:
                run = await start_run(session, ws.id, connection_id, trigger="demo")
            done = await engine.execute(ws.id, run.id)
            created += int(done.counts.get("created", 0))
        async with database.session() as session:
            conversations = ConversationRepository(session, ws.id)
            by_provider = await conversations.count_by_provider()
            with_audio = await conversations.count_with_audio()
        api_key, reused = await _demo_key(database, settings.data_dir / KEYS_FILE, ws)
        async with database.session() as session:
            chat_agent_id = await _demo_agent(session, ws, box)
        if created:
            async with database.session() as session:
                await record(session, ws.id, actor="cli", action="demo.seeded", target_type="workspace",
                             target_id=ws.id, detail={"created": created, "providers": sorted(simulators)})
    finally:
        await database.dispose()
    window_start, window_end = _window(ws)
    return DemoInfo(workspace=workspace, workspace_id=ws.id, api_key=api_key, key_reused=reused,
                    conversations=sum(by_provider.values()), created=created, with_audio=int(with_audio),
                    by_provider=by_provider, window_start=window_start, window_end=window_end,
                    chat_agent_id=chat_agent_id)


async def _demo_connection(session: AsyncSession, ws: Workspace, box: SecretBox, provider: str, url: str) -> str:
    """The demo's connection to this provider's simulator, pointed at its current URL."""
    name = f"Demo {provider} simulator"
    for connection in await ConnectionRepository(session, ws.id).all():
        if connection.provider == provider and connection.name == name:
            if connection.base_url != url:
                await update_connection(session, ws.id, connection.id, ConnectionUpdate(base_url=url), box,
                                        actor="cli")
            return connection.id
    connection = await create_connection(session, ws.id, ConnectionCreate(
        provider=provider, name=name, api_key=simulator_key(provider), base_url=url,
        webhook_secret=DEMO_WEBHOOK_SECRET, sync_interval_secs=DEMO_SYNC_INTERVAL_SECS,
    ), box, actor="cli")
    return connection.id


async def _demo_agent(session: AsyncSession, ws: Workspace, box: SecretBox) -> str:
    """The demo's public knowledge agent (created, with its help-desk document, on the first run)."""
    for agent in await AgentRepository(session, ws.id).page(after=None, limit=100, provider=NATIVE):
        if agent.name == DEMO_AGENT:
            return agent.id
    agent = await create_agent(session, ws.id, AgentCreate(name=DEMO_AGENT, public=True), box, actor="cli")
    await add_documents(session, ws.id, agent.id, [("help-desk.md", DEMO_HELP)], actor="cli")
    return agent.id


def _window(ws: Workspace) -> tuple[datetime, datetime]:
    """From midnight UTC :data:`DEMO_DAYS` - 1 days before the workspace was made, up to when it was made.

    Starting at midnight keeps the generator's business hours at business hours;
    ending at the creation time keeps every conversation in the past.
    """
    end = as_utc(ws.created_at or utcnow()).replace(microsecond=0)
    start = end.replace(hour=0, minute=0, second=0) - timedelta(days=DEMO_DAYS - 1)
    return start, end


async def _demo_key(database: Database, keys_file: Path, ws: Workspace) -> tuple[str, bool]:
    """The key saved by an earlier run if it still opens this workspace, else a new one (saved for next time)."""
    saved = _read_keys(keys_file)
    secret = saved.get(ws.name)
    async with database.session() as session:
        if secret:
            try:
                subject = await authenticate(session, secret)
            except Unauthorized:
                subject = None
            if subject is not None and ws.id == subject.workspace_id:
                return secret, True
        key, secret = await create_key(session, ws, name="demo")
        await record(session, ws.id, actor="cli", action="api_key.created", target_type="api_key",
                     target_id=key.id, detail={"prefix": key.prefix, "scopes": key.scopes, "name": "demo"})
    saved[ws.name] = secret
    _write_keys(keys_file, saved)
    return secret, False


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)  # secrets: readable by the owner only
    path.write_text(json.dumps(keys, indent=2) + "\n")


def _read_keys(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
