"""The database engine and the owner of every transaction.

One :class:`Database` per process wraps the async engine. :meth:`Database.session`
is the one place that commits: the request (through its session dependency),
the jobs and the realtime socket each open their transactions with it, and it
commits when the block succeeds and rolls back when it raises; services never
commit. Around that commit it runs the transaction's unit of work
(:mod:`convhub.kit.uow`): what was queued for after the commit, or for a
rollback, and the writer turn it gives up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from convhub.kit import sqlite as sqlite_driver
from convhub.kit.uow import UnitOfWork


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _dumps(value: Any) -> str:
    # orjson is several times faster than json on the ingest path's many JSON columns.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        engine_url = make_url(url)
        self.dialect = engine_url.get_backend_name()
        if engine_url.drivername == "sqlite+aiosqlite" and sqlite_driver.supported():
            # The same aiosqlite connections, one thread hop per statement instead of four (kit/sqlite.py).
            engine_url = engine_url.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _dumps, "json_deserializer": orjson.loads}
        if self.dialect == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(engine_url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._write_lock: asyncio.Lock | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction this block owns: committed when the block succeeds, then what was queued
        with :func:`~convhub.kit.uow.on_commit` runs; rolled back when it raises (or the commit fails), then
        what was queued with :func:`~convhub.kit.uow.on_rollback` runs instead."""
        async with self.sessionmaker() as session:
            work = UnitOfWork.open(session, self._writers())
            try:
                yield session
                await session.commit()
            except BaseException:
                try:
                    await session.rollback()
                finally:
                    await work.rolled_back()
                raise
            await work.committed()

    def _writers(self) -> asyncio.Lock | None:
        """The writer turn of :func:`~convhub.kit.uow.writer_turn`: SQLite has one writer, and a writer that
        finds the database locked waits in sleeps of milliseconds, so this process's writers take turns on
        this lock instead. None on PostgreSQL, whose writers lock rows, not the database."""
        if not self.is_sqlite:
            return None
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    async def dispose(self) -> None:
        await self.engine.dispose()
