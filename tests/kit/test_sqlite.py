"""The SQLite dialect convhub uses (kit/sqlite.py): aiosqlite's connections, one thread hop per statement, and
otherwise the behaviour of SQLAlchemy's own adapter."""

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
from convhub.kit.uow import writer_turn


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


async def test_every_statement_runs_off_the_event_loop_thread(db: Database) -> None:
    seen: list[int] = []

    async with db.session() as session:
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        await raw.driver_connection.create_function(  # type: ignore[union-attr]
            "whereami", 0, lambda: seen.append(threading.get_ident()) or 1)
        for _ in range(3):
            assert (await session.execute(text("SELECT whereami()"))).scalar() == 1
    assert len(seen) == 3
    assert threading.get_ident() not in seen


async def test_a_transaction_sees_its_own_writes_and_others_do_not_until_it_commits(db: Database) -> None:
    count = text("SELECT count(*) FROM t")
    async with db.session() as session:
        await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert (await session.execute(count)).scalar() == 1
        async with db.session() as other:
            assert (await other.execute(count)).scalar() == 0
    async with db.session() as session:
        assert (await session.execute(count)).scalar() == 1


async def test_concurrent_writers_each_see_their_own_work(db: Database) -> None:
    async def insert(n: int) -> None:
        async with db.session() as session:
            await writer_turn(session)
            await session.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": f"n{n}"})

    await asyncio.gather(*(insert(n) for n in range(30)))
    async with db.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 30
