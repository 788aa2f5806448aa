"""The sync engine against an in-memory account: every page, once each, resumable, failures contained."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from convhub.auth.service import ensure_workspace
from convhub.db import Database
from convhub.errors import Conflict
from convhub.models import Agent, Conversation, SyncFailure, SyncRun
from convhub.storage.local import LocalBlobStore
from convhub.sync.engine import HOST, SyncEngine, start_run
from tests.sync.fakes import FakeAccount, FakeProvider, SimulatedKill, add_connection


@pytest.fixture
async def workspace_id(database: Database) -> str:
    async with database.session() as session:
        return (await ensure_workspace(session, "acme")).id


def make_engine(database: Database, tmp_path: Path, account: FakeAccount) -> SyncEngine:
    return SyncEngine(database, LocalBlobStore(tmp_path / "blobs"), lambda _c: FakeProvider(account))


async def sync(database: Database, engine: SyncEngine, workspace_id: str, connection_id: str,
               mode: str = "auto") -> SyncRun:
    async with database.session() as session:
        run = await start_run(session, workspace_id, connection_id, mode=mode)
    return await engine.execute(workspace_id, run.id)


async def stored_ids(database: Database, workspace_id: str) -> list[str]:
    async with database.session() as session:
        rows = await session.execute(
            select(Conversation.provider_conversation_id).where(Conversation.workspace_id == workspace_id)
        )
        return sorted(r[0] for r in rows)


async def test_full_sync_files_every_page_once_with_audio(database: Database, tmp_path: Path,
                                                         workspace_id: str) -> None:
    account = FakeAccount(57, page_size=10)
    connection_id = await add_connection(database, workspace_id)
    run = await sync(database, make_engine(database, tmp_path, account), workspace_id, connection_id)

    assert run.status == "succeeded", run.errors
    assert await stored_ids(database, workspace_id) == sorted(account.conversations)
    assert run.counts["fetched"] == 57 and run.counts["created"] == 57 and run.counts["failed"] == 0
    assert run.pages == 6
    with_audio = [c for c in account.conversations.values() if c.get("has_audio")]
    assert run.counts["audio"] == len(with_audio) > 0
    async with database.session() as session:
        audio = (await session.execute(select(func.count()).where(
            Conversation.workspace_id == workspace_id, Conversation.audio_key.is_not(None)))).scalar_one()
    assert audio == len(with_audio)


async def test_resync_of_unchanged_data_asks_for_no_detail(database: Database, tmp_path: Path,
                                                          workspace_id: str) -> None:
    account = FakeAccount(30)
    connection_id = await add_connection(database, workspace_id)
    engine = make_engine(database, tmp_path, account)
    await sync(database, engine, workspace_id, connection_id)
    account.detail_requests.clear()
    account.audio_requests.clear()

    again = await sync(database, engine, workspace_id, connection_id, mode="full")

    assert again.status == "succeeded"
    assert account.detail_requests == [] and account.audio_requests == []
    assert again.counts["unchanged"] == 30 and again.counts["created"] == 0


async def test_incremental_pass_lists_only_new_and_files_changes(database: Database, tmp_path: Path,
                                                                workspace_id: str) -> None:
    account = FakeAccount(40)
    connection_id = await add_connection(database, workspace_id)
    engine = make_engine(database, tmp_path, account)
    first = await sync(database, engine, workspace_id, connection_id)
    assert first.mode == "full"
    newest = account.ordered()[0]
    fresh = dict(newest, conversation_id="conv_brand_new", metadata=dict(newest["metadata"]))
    fresh["metadata"]["start_time_unix_secs"] += 60
    account.conversations[fresh["conversation_id"]] = fresh
    account.detail_requests.clear()

    second = await sync(database, engine, workspace_id, connection_id)

    assert second.mode == "incremental" and second.status == "succeeded"
    assert second.counts["created"] == 1
    assert second.counts["fetched"] < 40  # only the overlap window was listed
    assert account.detail_requests == ["conv_brand_new"]
    assert "conv_brand_new" in await stored_ids(database, workspace_id)


async def test_one_bad_conversation_is_recorded_and_retried_next_run(database: Database, tmp_path: Path,
                                                                     workspace_id: str) -> None:
    account = FakeAccount(25)
    bad = account.ordered()[7]["conversation_id"]
    account.broken_details.add(bad)
    connection_id = await add_connection(database, workspace_id)
    engine = make_engine(database, tmp_path, account)

    run = await sync(database, engine, workspace_id, connection_id)
    assert run.status == "succeeded"
    assert run.counts["failed"] == 1 and run.counts["created"] == 24
    assert run.errors[0]["conversation_id"] == bad and "503" in run.errors[0]["error"]
    async with database.session() as session:
        assert (await session.execute(select(SyncFailure.provider_conversation_id))).scalars().all() == [bad]

    account.broken_details.clear()
    account.detail_requests.clear()
    retry = await sync(database, engine, workspace_id, connection_id)
    assert retry.counts["created"] == 1 and retry.counts["failed"] == 0
    assert bad in account.detail_requests
    assert await stored_ids(database, workspace_id) == sorted(account.conversations)
    async with database.session() as session:
        assert (await session.execute(select(func.count()).select_from(SyncFailure))).scalar_one() == 0


async def test_unknown_agents_skipped_by_policy_and_counted(database: Database, tmp_path: Path,
                                                            workspace_id: str) -> None:
    account = FakeAccount(30)
    connection_id = await add_connection(database, workspace_id, unknown_agents="skip")
    known = account.ordered()[0]["agent_id"]
    async with database.session() as session:
        session.add(Agent(id="agt_known", workspace_id=workspace_id, name="Known", provider="elevenlabs",
                          provider_agent_id=known, config={}))
    run = await sync(database, make_engine(database, tmp_path, account), workspace_id, connection_id)

    expected = sorted(c["conversation_id"] for c in account.conversations.values() if c["agent_id"] == known)
    assert run.status == "succeeded"
    assert await stored_ids(database, workspace_id) == expected
    assert run.counts["skipped_unknown_agent"] == 30 - len(expected) > 0
    assert account.detail_requests and set(account.detail_requests) <= set(expected)
    async with database.session() as session:
        agents = (await session.execute(select(Agent.provider_agent_id).where(
            Agent.workspace_id == workspace_id))).scalars().all()
    assert agents == [known]  # nothing created


async def test_unknown_agents_created_by_default_and_counted(database: Database, tmp_path: Path,
                                                             workspace_id: str) -> None:
    account = FakeAccount(30)
    connection_id = await add_connection(database, workspace_id)
    run = await sync(database, make_engine(database, tmp_path, account), workspace_id, connection_id)
    agents = {c["agent_id"] for c in account.conversations.values()}
    assert run.counts["agents_created"] == len(agents) > 1


async def test_a_killed_run_resumes_from_its_checkpoint(database: Database, tmp_path: Path,
                                                        workspace_id: str) -> None:
    account = FakeAccount(48, page_size=8)
    account.crash_after_pages = 3
    connection_id = await add_connection(database, workspace_id)
    engine = make_engine(database, tmp_path, account)
    async with database.session() as session:
        first = await start_run(session, workspace_id, connection_id)
    with pytest.raises(SimulatedKill):
        await engine.execute(workspace_id, first.id)
    filed = await stored_ids(database, workspace_id)
    assert 8 <= len(filed) <= 24  # the pages committed before the "kill"

    # The dead run still says "running"; its process is gone (a pid that cannot exist).
    async with database.session() as session:
        await session.execute(update(SyncRun).where(SyncRun.id == first.id).values(owner=f"{HOST}:4194305"))
    account.crash_after_pages = None
    account.detail_requests.clear()
    async with database.session() as session:
        second = await start_run(session, workspace_id, connection_id)
    assert second.resumed_from == first.id
    done = await engine.execute(workspace_id, second.id)

    assert done.status == "succeeded"
    assert await stored_ids(database, workspace_id) == sorted(account.conversations)
    assert not set(account.detail_requests) & set(filed)  # resumed after the checkpoint, not from the top
    async with database.session() as session:
        old = await session.get(SyncRun, first.id)
        assert old is not None and old.status == "interrupted"


async def test_a_second_run_while_one_is_alive_is_a_conflict(database: Database, workspace_id: str) -> None:
    connection_id = await add_connection(database, workspace_id)
    async with database.session() as session:
        await start_run(session, workspace_id, connection_id)
    async with database.session() as session:
        with pytest.raises(Conflict, match="already running"):
            await start_run(session, workspace_id, connection_id)
