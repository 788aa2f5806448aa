"""kit/uow.py with db.py's owner: work queued for after the commit runs only once the write is visible, in
order, and never for a transaction that rolled back; SQLite's writers take turns."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from convhub.auth.service import ensure_workspace
from convhub.db import Database
from convhub.kit.uow import on_commit, on_rollback, writer_turn
from convhub.models import Workspace


async def _exists(database: Database, name: str) -> bool:
    async with database.session() as session:
        found = await session.execute(select(Workspace.id).where(Workspace.name == name))
        return found.first() is not None


async def test_hooks_run_after_the_commit_in_the_order_queued_and_see_the_write(database: Database) -> None:
    seen: list[object] = []

    async def look() -> None:
        seen.append(("committed", await _exists(database, "acme")))

    async with database.session() as session:
        await ensure_workspace(session, "acme")
        on_commit(session, lambda: seen.append("first"))
        on_commit(session, look)
        on_commit(session, lambda: seen.append("third"))
        on_rollback(session, lambda: seen.append("rolled back"))
        assert seen == []  # nothing runs before the commit

    assert seen == ["first", ("committed", True), "third"]


async def test_an_exception_rolls_back_and_runs_no_commit_hook(database: Database) -> None:
    seen: list[str] = []

    with pytest.raises(RuntimeError, match="boom"):
        async with database.session() as session:
            await ensure_workspace(session, "acme")
            on_commit(session, lambda: seen.append("committed"))
            on_rollback(session, lambda: seen.append("rolled back"))
            raise RuntimeError("boom")

    assert seen == ["rolled back"]
    assert not await _exists(database, "acme")


async def test_a_failing_hook_is_logged_and_neither_undoes_the_commit_nor_stops_the_others(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def broken() -> None:
        raise ValueError("the bus is down")

    with caplog.at_level(logging.ERROR, logger="convhub.uow"):
        async with database.session() as session:
            await ensure_workspace(session, "acme")
            on_commit(session, broken)
            on_commit(session, lambda: seen.append("after"))

    assert seen == ["after"]
    assert await _exists(database, "acme")
    assert "the bus is down" in caplog.text


async def test_work_needs_an_owner_and_a_transaction_still_open(database: Database) -> None:
    async with database.sessionmaker() as unowned:
        with pytest.raises(RuntimeError, match=r"Database\.session"):
            on_commit(unowned, lambda: None)
    async with database.session() as session:
        pass
    with pytest.raises(RuntimeError, match="over"):
        on_commit(session, lambda: None)


async def test_sqlite_writers_take_turns_until_the_holder_commits(database: Database) -> None:
    holding, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with database.session() as session:
            await writer_turn(session)
            await writer_turn(session)  # again: still the one turn
            await ensure_workspace(session, "first")
            holding.set()
            await release.wait()

    async def second() -> bool:
        async with database.session() as session:
            await writer_turn(session)
            await ensure_workspace(session, "second")
            return await _exists(database, "first")

    holder = asyncio.create_task(first())
    await holding.wait()
    waiter = asyncio.create_task(second())
    if database.is_sqlite:
        await asyncio.sleep(0.05)
        assert not waiter.done()
        release.set()
        await holder
        assert await waiter is True  # it went once the first had committed
    else:  # PostgreSQL's writers lock rows, not the database: no turn to wait for
        assert await asyncio.wait_for(waiter, 5) is False
        release.set()
        await holder
    assert await _exists(database, "second")


async def test_a_transaction_that_wrote_already_does_not_wait_for_the_turn(database: Database) -> None:
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with database.session() as session:
            await writer_turn(session)
            holding.set()
            await release.wait()
            await ensure_workspace(session, "holder")

    task = asyncio.create_task(holder())
    await holding.wait()
    async with database.session() as session:
        await ensure_workspace(session, "early")  # written before asking: it has SQLite's own lock already
        # Waiting for the turn now would leave the holder waiting on this transaction's lock: it goes first.
        await asyncio.wait_for(writer_turn(session), 1)
    release.set()
    await task
    assert await _exists(database, "early") and await _exists(database, "holder")
