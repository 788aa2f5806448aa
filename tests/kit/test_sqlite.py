"""The SQLite dialect convhub uses (kit/sqlite.py): aiosqlite's connections, one thread hop per statement, and
none for a quick read."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from convhub.db import Database
from convhub.kit import sqlite as sqlite_driver
from convhub.kit.repository import quick_read


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with database.session() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield database
    await database.dispose()


def test_an_aiosqlite_url_gets_the_one_hop_dialect(db: Database) -> None:
    assert sqlite_driver.supported()
    assert db.engine.dialect.driver == sqlite_driver.DRIVER
    assert db.dialect == "sqlite" and db.url.startswith("sqlite+aiosqlite")


async def test_rows_rowcounts_and_ids_come_back(db: Database) -> None:
    async with db.session() as session:
        inserted = await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await session.execute(text("INSERT INTO t (name) VALUES (:n)"), [{"n": "b"}, {"n": "c"}])  # executemany
        updated = await session.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
        returned = await session.execute(text("INSERT INTO t (name) VALUES ('d') RETURNING id, name"))
        assert returned.all() == [(4, "d")]
    async with db.session() as session:
        rows = (await session.execute(text("SELECT id, name FROM t ORDER BY id"))).all()
        assert rows == [(1, "a"), (2, "b!"), (3, "c!"), (4, "d")]
        assert (await session.execute(text("SELECT name FROM t WHERE id = 99"))).first() is None


async def test_a_failed_transaction_leaves_nothing_and_the_error_is_sqlalchemys(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('x')"))
            await session.execute(text("INSERT INTO t (name) VALUES ('x')"))
    with pytest.raises(OperationalError, match="no such table"):
        async with db.session() as session:
            await session.execute(text("SELECT * FROM nowhere"))
    async with db.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0


async def test_statements_run_off_the_event_loop_thread_but_quick_reads_do_not(db: Database) -> None:
    seen: list[int] = []

    async with db.session() as session:
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        await raw.driver_connection.create_function(  # type: ignore[union-attr]
            "whereami", 0, lambda: seen.append(threading.get_ident()) or 1)
        assert (await session.execute(text("SELECT whereami()"))).scalar() == 1
        assert (await session.execute(quick_read(text("SELECT whereami()")))).scalar() == 1
        assert (await session.execute(text("SELECT whereami()"))).scalar() == 1
    assert len(seen) == 3
    assert seen[0] != threading.get_ident() and seen[2] != threading.get_ident()
    assert seen[1] == threading.get_ident()


async def test_a_quick_read_sees_its_transaction_and_fails_as_any_statement(db: Database) -> None:
    count = quick_read(text("SELECT count(*) FROM t"))
    with pytest.raises(OperationalError, match="no such table"):
        async with db.session() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
            assert (await session.execute(count)).scalar() == 1  # the same connection: its own uncommitted row
            async with db.session() as other:
                assert (await other.execute(count)).scalar() == 0  # another transaction does not see it yet
            await session.execute(quick_read(text("SELECT * FROM nowhere")))
    async with db.session() as session:  # the failed read rolled its transaction back, as any failure does
        assert (await session.execute(count)).scalar() == 0
        await session.execute(text("INSERT INTO t (name) VALUES ('b')"))
    async with db.session() as session:
        assert (await session.execute(count)).scalar() == 1


async def test_concurrent_sessions_each_see_their_own_work(db: Database) -> None:
    async def insert(n: int) -> None:
        async with db.writing(), db.session() as session:
            await session.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": f"n{n}"})

    await asyncio.gather(*(insert(n) for n in range(30)))
    async with db.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 30
