"""The SQLite dialect convhub uses (kit/sqlite.py): aiosqlite's connections, one thread hop per statement."""

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


async def test_statements_run_off_the_event_loop_thread(db: Database) -> None:
    seen: list[int] = []

    async with db.session() as session:
        conn = await session.connection()
        raw = await conn.get_raw_connection()
        await raw.driver_connection.create_function(  # type: ignore[union-attr]
            "whereami", 0, lambda: seen.append(threading.get_ident()) or 1)
        assert (await session.execute(text("SELECT whereami()"))).scalar() == 1
    assert seen and seen[0] != threading.get_ident()


async def test_concurrent_sessions_each_see_their_own_work(db: Database) -> None:
    async def insert(n: int) -> None:
        async with db.writing(), db.session() as session:
            await session.execute(text("INSERT INTO t (name) VALUES (:n)"), {"n": f"n{n}"})

    await asyncio.gather(*(insert(n) for n in range(30)))
    async with db.session() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 30
