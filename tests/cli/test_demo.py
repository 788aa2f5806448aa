"""seed_demo: the three simulators synced into a workspace with audio and a key; running it again duplicates nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from convhub.agents.backends.base import ChatMessage
from convhub.agents.service import get_agent, open_backend
from convhub.auth.service import authenticate, get_workspace, revoke_key
from convhub.cli.demo import DEMO_DAYS, DemoInfo, demo_simulators, demo_window, seed_demo
from convhub.config import Settings
from convhub.db import Database
from convhub.errors import Unauthorized
from convhub.kit.secretbox import SecretBox
from convhub.kit.time import as_utc
from convhub.models import Conversation
from convhub.storage.local import LocalBlobStore


async def _seed(settings: Settings, n: int, workspace: str = "demo") -> DemoInfo:
    """What ``convhub demo`` does before serving: fresh simulators (new ports each time), then the sync."""
    start, _ = await demo_window(settings, workspace)
    with demo_simulators(start, n) as simulators:
        return await seed_demo(settings, simulators, workspace)


async def _conversations(database: Database) -> list[Conversation]:
    async with database.session() as session:
        return list((await session.execute(select(Conversation))).scalars())


async def test_seed_demo_fills_a_workspace_once(settings: Settings, database: Database) -> None:
    first = await _seed(settings, 12)
    second = await _seed(settings, 12)

    rows = await _conversations(database)
    assert len(rows) == 12
    assert (first.conversations, first.created) == (12, 12)
    assert (second.conversations, second.created) == (12, 0)
    assert first.by_provider == second.by_provider == {"elevenlabs": 4, "retell": 4, "vapi": 4}
    assert second.api_key == first.api_key
    assert (first.key_reused, second.key_reused) == (False, True)

    with_audio = [row for row in rows if row.has_audio]
    assert 0 < len(with_audio) == first.with_audio == second.with_audio
    store = LocalBlobStore(settings.blob_dir)
    for row in with_audio:
        assert row.audio_key is not None and row.audio_key.startswith(f"{row.workspace_id}/audio/{row.provider}/")
        assert await store.exists(row.audio_key)

    async with database.session() as session:
        subject = await authenticate(session, first.api_key)
        assert subject.workspace_id == first.workspace_id
        assert subject.has("conversations:read")
    assert {row.workspace_id for row in rows} == {first.workspace_id}


async def test_the_demo_has_one_public_chat_agent_that_answers(settings: Settings, database: Database) -> None:
    first = await _seed(settings, 3)
    second = await _seed(settings, 3)
    assert first.chat_agent_id == second.chat_agent_id
    async with database.session() as session:
        agent = await get_agent(session, first.workspace_id, first.chat_agent_id)
        assert (agent.provider, agent.backend, agent.public) == ("convhub", "knowledge", True)
        backend = await open_backend(session, first.workspace_id, agent, SecretBox(settings.resolved_secret_key))
    reply = "".join([d async for d in backend.stream_reply([ChatMessage("user", "How long do refunds take?")])])
    assert "five working days" in reply


async def test_demo_conversations_fall_in_the_last_days(settings: Settings, database: Database) -> None:
    info = await _seed(settings, 21)

    async with database.session() as session:
        created_at = as_utc((await get_workspace(session, "demo")).created_at)
    starts = [as_utc(row.started_at) for row in await _conversations(database)]
    assert max(starts) <= created_at
    assert min(starts) >= created_at - timedelta(days=DEMO_DAYS)
    assert info.window_start <= min(starts) and max(starts) <= info.window_end
    assert max(starts) - min(starts) > timedelta(days=7)  # spread out, not bunched on one day


async def test_a_revoked_demo_key_is_replaced(settings: Settings, database: Database) -> None:
    first = await _seed(settings, 3)
    async with database.session() as session:
        subject = await authenticate(session, first.api_key)
        await revoke_key(session, await get_workspace(session, "demo"), subject.key_id)

    second = await _seed(settings, 3)

    assert second.api_key != first.api_key
    assert not second.key_reused
    async with database.session() as session:
        with pytest.raises(Unauthorized):
            await authenticate(session, first.api_key)
        await authenticate(session, second.api_key)
        count = (await session.execute(select(func.count()).select_from(Conversation))).scalar_one()
    assert count == 3


async def test_each_workspace_gets_its_own_demo(settings: Settings, database: Database) -> None:
    one = await _seed(settings, 4, "one")
    two = await _seed(settings, 4, "two")

    assert one.workspace_id != two.workspace_id
    assert one.api_key != two.api_key
    assert len(await _conversations(database)) == 8
