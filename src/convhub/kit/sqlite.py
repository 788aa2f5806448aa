"""SQLite through aiosqlite with one thread hop per statement, not four.

aiosqlite runs each connection's calls on a thread of its own, and
SQLAlchemy's adapter makes four of them per statement (open a cursor, execute,
fetch, close) plus one each for COMMIT and the pool's ROLLBACK even when no
transaction is open. Each call is a round trip between the event loop and that
thread (~0.1 ms on an idle machine, more under load), while the indexed reads
and small writes a request makes take SQLite microseconds. On a get with its
transcript the hops were a third of the request: ``bench/store.py``'s get p95
is ~40% higher with SQLAlchemy's adapter (docs/benchmarks.md).

This dialect (``sqlite+convhub``, chosen by :class:`convhub.db.Database` for
``sqlite+aiosqlite`` URLs) is that adapter with one change: a statement is sent
to the connection's thread as one function that executes, fetches and closes;
and COMMIT or ROLLBACK is skipped when SQLite says no transaction is open.
Every statement still runs on the connection's own thread, off the event loop.

It calls two internals of aiosqlite (``Connection._execute``, which runs a
function on the connection's thread, and ``Connection._conn``);
:func:`supported` checks for them, and :class:`convhub.db.Database` uses
SQLAlchemy's own adapter without them. ``tests/kit/test_sqlite.py`` holds it to
the behaviour of SQLAlchemy's adapter.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite import aiosqlite as sa_aiosqlite

DRIVER = "convhub"

_Outcome = tuple[Any, list[Any] | None, Any, int]


def supported() -> bool:
    """Whether the installed aiosqlite has what this dialect uses."""
    return hasattr(aiosqlite.Connection, "_execute") and hasattr(aiosqlite.Connection, "_conn")


def _run(conn: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On the connection's thread: the whole statement, its rows fetched."""
    cursor = conn.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, None, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _run_many(conn: sqlite3.Connection, operation: str, seq_of_parameters: Sequence[Any]) -> _Outcome:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return None, None, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class _Cursor(sa_aiosqlite.AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _call(self, fn: Any, operation: str, parameters: Any) -> None:
        connection = self._connection
        try:
            outcome = self.await_(connection._execute(fn, connection._conn, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        description, rows, lastrowid, rowcount = outcome
        self.description = description
        self.lastrowid, self.rowcount = lastrowid, rowcount
        self._rows = deque(rows) if rows else deque()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._call(_run, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._call(_run_many, operation, seq_of_parameters)


class _Connection(sa_aiosqlite.AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def _in_transaction(self) -> bool:
        try:
            return bool(self._connection._conn.in_transaction)
        except ValueError:  # closed: let the real call raise what it raises
            return True

    def cursor(self, server_side: bool = False) -> sa_aiosqlite.AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return sa_aiosqlite.AsyncAdapt_aiosqlite_ss_cursor(self)
        return _Cursor(self)

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()


class _DBAPI(sa_aiosqlite.AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


class SQLiteDialect(sa_aiosqlite.SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> _DBAPI:
        return _DBAPI(aiosqlite, sqlite3)


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect")
