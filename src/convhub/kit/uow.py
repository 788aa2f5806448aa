"""The unit of work: what happens around the commit of a transaction, which only its owner makes.

A transaction has one owner, :meth:`convhub.db.Database.session`, opened by
whoever is responsible for the whole of it: the request (through its session
dependency), a job, the reply producer, the realtime socket for each thing it
does. The owner commits when its block succeeds and rolls back when it raises;
nothing else commits. Code inside the transaction that needs something done
only once its write is visible (an event for live monitors, a job that reads
what was written, a reply that must follow the message it answers) queues it
with :func:`on_commit`; what must be given up if the write never lands, with
:func:`on_rollback`. The owner runs the first right after the commit succeeds,
in the order they were queued, and drops them on rollback, running the second
instead. So no monitor hears of a change that rolled back, and no job looks for
a row that is not there yet.

This is polar's ``enqueue_job`` pattern, kept on the session instead of in a
context variable: the session is passed everywhere already, and a socket or a
job that runs several transactions in turn gets a unit of work for each.

SQLite has one writer at a time, and a writer that finds the database locked
waits in sleeps of milliseconds. :func:`writer_turn` lets this process's
writers take turns on an asyncio lock instead, from the call until the owner
commits or rolls back. On PostgreSQL it does nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("convhub.uow")

Hook = Callable[[], object]  # a function of no arguments, or a coroutine function: the owner awaits what it returns

_KEY = "convhub.unit_of_work"


class UnitOfWork:
    """The hooks and the writer turn of one transaction; :meth:`open` attaches it to the owner's session."""

    def __init__(self, session: AsyncSession, writers: asyncio.Lock | None) -> None:
        self.session = session
        self._writers = writers  # this process's writer turn; None: the database needs none (PostgreSQL)
        self._holds_turn = False
        self._after_commit: list[Hook] = []
        self._after_rollback: list[Hook] = []
        self._over = False

    @classmethod
    def open(cls, session: AsyncSession, writers: asyncio.Lock | None) -> UnitOfWork:
        work = cls(session, writers)
        session.info[_KEY] = work
        return work

    @classmethod
    def of(cls, session: AsyncSession) -> UnitOfWork:
        work = session.info.get(_KEY)
        if not isinstance(work, UnitOfWork):
            raise RuntimeError("This session has no owner to commit it: open it with Database.session().")
        if work._over:
            raise RuntimeError("This session's transaction is over; queue work on the next one.")
        return work

    async def take_writer_turn(self) -> None:
        if self._writers is None or self._holds_turn:
            return
        # The connection before the turn: those queuing for the turn may hold every pooled connection, and
        # the holder must never wait for one of them.
        connection = await (await self.session.connection()).get_raw_connection()
        if connection.driver_connection is not None and connection.driver_connection.in_transaction:
            # This transaction has written already (SQLite begins at the first write), so it holds SQLite's
            # own write lock: the turn's holder would wait on it while it waited for the turn. It goes first.
            return
        await self._writers.acquire()
        self._holds_turn = True

    async def committed(self) -> None:
        """The owner's commit succeeded: give up the turn, then run what was queued for it."""
        self._release()
        await _run(self._after_commit, "after commit")

    async def rolled_back(self) -> None:
        """The owner rolled back: give up the turn, drop what waited for the commit, run what waited for this."""
        self._release()
        await _run(self._after_rollback, "after rollback")

    def _release(self) -> None:
        self._over = True
        if self._holds_turn and self._writers is not None:
            self._holds_turn = False
            self._writers.release()


async def _run(hooks: list[Hook], when: str) -> None:
    # The transaction's outcome is final: a failing hook is logged and the others still run.
    for hook in hooks:
        try:
            result = hook()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("a hook to run %s failed", when)


def on_commit(session: AsyncSession, hook: Hook) -> None:
    """Run ``hook`` once the owner of ``session``'s transaction has committed it; never if it rolls back."""
    UnitOfWork.of(session)._after_commit.append(hook)


def on_rollback(session: AsyncSession, hook: Hook) -> None:
    """Run ``hook`` if ``session``'s transaction rolls back (a write queued work for that never lands)."""
    UnitOfWork.of(session)._after_rollback.append(hook)


async def writer_turn(session: AsyncSession) -> None:
    """Hold this process's writer turn for the rest of ``session``'s transaction (SQLite; no-op on PostgreSQL).

    Call it before the transaction's first write: waiting comes before the writes, and the transaction keeps
    the turn until its owner commits or rolls back. Calling it again changes nothing.
    """
    await UnitOfWork.of(session).take_writer_turn()
