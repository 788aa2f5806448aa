"""SQLite through aiosqlite, one thread hop per statement.

aiosqlite runs each connection's calls on a thread of its own; SQLAlchemy's
adapter makes four calls per statement (open a cursor, execute, fetch, close)
and one each for COMMIT and the pool's ROLLBACK even when no transaction is
open. Each call is a round trip between the event loop and that thread, about
0.1 ms on an idle machine and more under load, while the statements a request
runs (an indexed lookup, a small insert) take SQLite microseconds. So a chat
message's dozen statements spent most of their time crossing threads.

This dialect (``sqlite+convhub``, chosen by :class:`convhub.db.Database` for
``sqlite+aiosqlite`` URLs) sends each statement to the connection's thread as
one function that executes, fetches and closes, and skips COMMIT and ROLLBACK
when SQLite says no transaction is open (what the sqlite3 module would do on
the other side anyway). Statements still run off the event loop, so a long
query never stalls other requests.

Except the few reads every chat message makes before its model is asked (the
key, the conversation and its agent, its history), marked with
:func:`convhub.kit.repository.quick_read`: SQLite answers those in
microseconds, less than the hop costs (two thread switches, more on a busy
virtual machine), so they run right here, on the event loop's thread. Only
reads: in WAL mode a read never waits for a lock, while a write can wait for
another process's transaction (up to the busy timeout), which must not stall
the loop. The connection is the same one either way, used by one statement at
a time as SQLAlchemy awaits each; it is opened with ``check_same_thread`` off
so both threads may use it.

It uses two internals of aiosqlite that SQLAlchemy's own adapter relies on too
(``Connection._conn`` and ``Connection._execute``); :func:`supported` checks
for them and :class:`convhub.db.Database` falls back to SQLAlchemy's adapter
without them.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite import aiosqlite as sa_aiosqlite
from sqlalchemy.engine.interfaces import ExecutionContext

from convhub.kit.repository import QUICK_READ

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
        self._settle(outcome)

    def execute_here(self, operation: str, parameters: Any) -> None:
        """The statement on this thread (a quick read: see the module's docstring)."""
        try:
            outcome = _run(self._connection._conn, operation, parameters)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._settle(outcome)

    def _settle(self, outcome: _Outcome) -> None:
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

    def create_connect_args(self, url: Any) -> Any:
        args, kwargs = super().create_connect_args(url)
        kwargs["check_same_thread"] = False  # quick reads use the connection from the event loop's thread
        return args, kwargs

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: ExecutionContext | None = None) -> None:
        if context is not None and context.execution_options.get(QUICK_READ) and isinstance(cursor, _Cursor):
            cursor.execute_here(statement, parameters)
        else:
            cursor.execute(statement, parameters)


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect")
