"""seed_demo: generated conversations with audio and a key; running it again duplicates nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from convhub.auth.service import authenticate, get_workspace, revoke_key
from convhub.config import Settings
from convhub.conversations.service import audio_key
from convhub.db import Database
from convhub.demo import DEMO_DAYS, seed_demo
from convhub.errors import Unauthorized
from convhub.kit.time import as_utc
from convhub.models import Conversation
from convhub.storage.local import LocalBlobStore


async def _conversations(database: Database) -> list[Conversation]:
    async with database.session() as session:
        return list((await session.execute(select(Conversation))).scalars())


async def test_seed_demo_fills_a_workspace_once(settings: Settings, database: Database) -> None:
    first = await seed_demo(settings, "demo", 12)
    second = await seed_demo(settings, "demo", 12)

    rows = await _conversations(database)
    assert len(rows) == 12
    assert (first.conversations, first.created) == (12, 12)
    assert (second.conversations, second.created) == (12, 0)
    assert second.api_key == first.api_key
    assert (first.key_reused, second.key_reused) == (False, True)

    with_audio = [row for row in rows if row.has_audio]
    assert 0 < len(with_audio) == first.with_audio == second.with_audio
    store = LocalBlobStore(settings.blob_dir)
    for row in with_audio:
        assert row.audio_key == audio_key(row.workspace_id, row.id)
        assert await store.exists(row.audio_key)

    async with database.session() as session:
        subject = await authenticate(session, first.api_key)
        assert subject.workspace_id == first.workspace_id
        assert subject.has("conversations:read")
    assert {row.workspace_id for row in rows} == {first.workspace_id}


async def test_demo_conversations_fall_in_the_last_days(settings: Settings, database: Database) -> None:
    info = await seed_demo(settings, "demo", 20)

    async with database.session() as session:
        created_at = as_utc((await get_workspace(session, "demo")).created_at)
    starts = [as_utc(row.started_at) for row in await _conversations(database)]
    assert max(starts) <= created_at
    assert min(starts) >= created_at - timedelta(days=DEMO_DAYS)
    assert info.window_start <= min(starts) and max(starts) <= info.window_end
    assert max(starts) - min(starts) > timedelta(days=7)  # spread out, not bunched on one day


async def test_a_revoked_demo_key_is_replaced(settings: Settings, database: Database) -> None:
    first = await seed_demo(settings, "demo", 3)
    async with database.session() as session:
        subject = await authenticate(session, first.api_key)
        await revoke_key(session, await get_workspace(session, "demo"), subject.key_id)

    second = await seed_demo(settings, "demo", 3)

    assert second.api_key != first.api_key
    assert not second.key_reused
    async with database.session() as session:
        with pytest.raises(Unauthorized):
            await authenticate(session, first.api_key)
        await authenticate(session, second.api_key)
        count = (await session.execute(select(func.count()).select_from(Conversation))).scalar_one()
    assert count == 3


async def test_each_workspace_gets_its_own_demo(settings: Settings, database: Database) -> None:
    one = await seed_demo(settings, "one", 4)
    two = await seed_demo(settings, "two", 4)

    assert one.workspace_id != two.workspace_id
    assert one.api_key != two.api_key
    assert len(await _conversations(database)) == 8
