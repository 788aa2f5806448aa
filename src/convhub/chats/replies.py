"""Producing an agent's reply, and storing it exactly once however the person asking leaves.

A streamed reply must be stored whether the client reads it to the end, hangs
up halfway, or the backend fails. So it is produced by a task of its own rather
than by the response's body iterator: Starlette cancels the response when the
client disconnects, and a generator cancelled while suspended at a ``yield``
runs its cleanup only when it is garbage-collected, if then. The task hands
deltas to the response through a queue and, when it ends, stores the reply in
a transaction of its own: the whole reply when the backend finished; what was
produced, marked ``interrupted``, when the backend failed or the client went
away (the response then stops the task, which closes the backend's stream).
Once the backend has finished, a late disconnect no longer stops anything: the
reply is complete and is stored as such.

:func:`begin_reply` is how both the SSE endpoint and the realtime socket take a
message: it stores the message in the caller's transaction and starts the
model at once, so the model works on its first token while the message is
stored and committed. The reply waits for that commit (the unit of work tells
the producer, :mod:`convhub.kit.uow`) and is stored after the message, its
index following; if the transaction rolls back, the reply is abandoned and
nothing at all is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from convhub.agents.backends.base import BackendError
from convhub.chats import service
from convhub.chats.events import announce
from convhub.chats.schemas import MessageRead, SenderRole
from convhub.db import Database
from convhub.kit.time import utcnow
from convhub.kit.uow import on_commit, on_rollback

log = logging.getLogger("convhub.chats")

UNEXPECTED = "The agent failed unexpectedly while replying; send the message again."
NOT_STORED = "The reply could not be stored; send the message again."

# Reply tasks still running, held here so none is garbage-collected before it has stored its reply.
_running: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class Delta:
    text: str


@dataclass(frozen=True)
class Stored:
    message: MessageRead
    data: dict[str, Any]  # ``message`` as JSON: announced with it, and sent as it is by the SSE stream


@dataclass(frozen=True)
class Failed:
    message: str


Item = Delta | Stored | Failed


async def collect(context: service.ReplyContext) -> str:
    """The whole reply at once (raises :class:`BackendError`)."""
    parts: list[str] = []
    try:
        async for delta in context.backend.stream_reply(context.messages):
            parts.append(delta)
    except BackendError:
        raise
    except Exception as exc:  # a backend bug is the user's problem only as far as "try again"
        log.exception("agent backend failed")
        raise BackendError(UNEXPECTED) from exc
    return "".join(parts)


class ReplyProducer:
    """One streamed reply: deltas for whoever listens, then the stored message (or a failure)."""

    def __init__(
        self, database: Database, state: Any, workspace_id: str, conversation_id: str, started_at: datetime,
        context: service.ReplyContext, *, message_stored: bool = True,
    ) -> None:
        self.database = database
        self.state = state
        self.workspace_id = workspace_id
        self.conversation_id = conversation_id
        self.started_at = started_at  # the conversation's: the reply is stored without reading it again
        self.context = context
        self._queue: asyncio.Queue[Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._produced = False  # the backend has finished; the reply is complete
        self._storing = False  # a store has begun: never a second one
        self._message_stored = asyncio.Event()  # the message replied to is committed: the reply may follow
        self._abandoned = False  # the message was not stored: neither is any reply
        if message_stored:
            self._message_stored.set()

    def message_stored(self) -> None:
        """The message this replies to is committed; the reply can be stored after it (an after-commit hook)."""
        self._message_stored.set()

    def abandon(self) -> None:
        """The message could not be stored: stop the backend and store nothing (an after-rollback hook)."""
        self._abandoned = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"reply {self.conversation_id}")
            _running.add(self._task)
            self._task.add_done_callback(_running.discard)

    def stop(self) -> None:
        """Nobody listens any more: stop the backend; what it produced so far is stored as interrupted."""
        if self._task is not None and not self._task.done() and not self._produced:
            self._produced = True  # stop once only: a second cancel could land in the store
            self._task.cancel()

    async def wait(self) -> None:
        """Until the reply is stored (or the attempt is over)."""
        if self._task is not None:
            await asyncio.wait({self._task})

    async def items(self) -> AsyncIterator[Item]:
        """The items one at a time (the realtime socket sends each as a message of its own)."""
        async for batch in self.batches():
            for item in batch:
                yield item

    async def batches(self) -> AsyncIterator[list[Item]]:
        """The items in the order they come, as many at a time as are ready: a reply the backend handed over
        in one piece goes to the listener in one piece too (one write to its socket, not one per delta)."""
        self.start()
        queue = self._queue
        while (item := await queue.get()) is not None:
            batch = [item]
            while not queue.empty():
                if (item := queue.get_nowait()) is None:
                    yield batch
                    return
                batch.append(item)
            yield batch

    async def _run(self) -> None:
        parts: list[str] = []
        try:
            failure = await self._produce(parts)
            self._produced = True
            if failure is None or parts:
                stored = await self._store("".join(parts), interrupted=failure is not None)
                if stored is not None:
                    self._queue.put_nowait(stored)
                elif failure is None:
                    failure = NOT_STORED
            if failure is not None:
                self._queue.put_nowait(Failed(failure))
        except asyncio.CancelledError:
            if parts and not self._storing:
                await self._store("".join(parts), interrupted=True)
            raise
        finally:
            self._queue.put_nowait(None)

    async def _produce(self, parts: list[str]) -> str | None:
        """Run the backend, collecting into ``parts``; the failure to report, if any."""
        stream = self.context.backend.stream_reply(self.context.messages)
        try:
            async for delta in stream:
                if delta:
                    parts.append(delta)
                    self._queue.put_nowait(Delta(delta))
                    if len(parts) == 1:
                        # A backend may hand over a whole buffered reply without pausing: let the listener send
                        # the first words now, not after the rest of the reply is parsed. The rest of such a
                        # burst then goes to the listener as one batch, when the backend next waits.
                        await asyncio.sleep(0)
        except BackendError as exc:
            return exc.message
        except Exception:
            log.exception("agent backend failed in conversation %s", self.conversation_id)
            return UNEXPECTED
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:
                    log.warning("closing the agent's stream failed", exc_info=True)
        return None

    async def _store(self, text: str, *, interrupted: bool) -> Stored | None:
        self._storing = True
        await self._message_stored.wait()  # cancelled by abandon() when that never comes
        if self._abandoned:
            return None
        try:
            async with self.database.session() as session:
                turn = await service.store_reply(session, self.workspace_id, self.conversation_id, text,
                                                 started_at=self.started_at, at=utcnow(), interrupted=interrupted)
                message = service.to_message(turn)
                data = message.model_dump(mode="json")
                announce(session, self.state, self.workspace_id, "turn.added", data,
                         conversation_id=self.conversation_id)
        except Exception:
            log.exception("could not store the agent's reply in conversation %s", self.conversation_id)
            return None
        return Stored(message, data)


async def begin_reply(
    session: AsyncSession, state: Any, workspace_id: str, ref: str, role: SenderRole, text: str, *,
    prompt: str | None = None,
) -> tuple[MessageRead, ReplyProducer | None]:
    """Store a message in ``session``'s transaction and start the agent's reply to it; the message and the
    reply under way (None when the agent does not answer: an operator holds the chat, or an operator wrote).

    The caller owns the transaction: once it commits, the message is announced and the reply may be stored
    after it; if it rolls back, the reply is abandoned. Raises the service's errors (404, 409) before anything
    is stored; an agent that cannot be opened at all is an error here too, not a failed reply.
    """
    database: Database = state.db
    conv, agent = await service.accept_message_with_agent(session, workspace_id, ref, role)
    sent = service.NewTurn(role, text, utcnow())
    producer = None
    if service.agent_replies(conv, role):
        context = await service.reply_context(session, conv, state.secretbox, agent=agent, pending=sent,
                                              prompt=prompt)
        producer = ReplyProducer(database, state, workspace_id, conv.id, conv.started_at, context,
                                 message_stored=False)
        producer.start()
        # One turn of the loop for the new task, before this transaction's statements: the producer gets as far
        # as its first wait (on the model, once it has asked), so the model works on its first token while the
        # message is stored rather than after.
        await asyncio.sleep(0)
    try:
        (turn,) = await service.append_turns(session, conv, [sent])
    except BaseException:
        if producer is not None:
            producer.abandon()
        raise
    message = service.to_message(turn)
    announce(session, state, workspace_id, "turn.added", message.model_dump(mode="json"), conversation_id=conv.id)
    if producer is not None:
        # Queued after the announcement: monitors see the message before its reply.
        on_commit(session, producer.message_stored)
        on_rollback(session, producer.abandon)
    return message, producer


async def settle(grace: float | None = None) -> None:
    """Until every reply under way in this event loop is stored, or ``grace`` seconds have passed (at
    shutdown, before the database goes: a reply cut off by the last disconnects is still being stored)."""
    loop = asyncio.get_running_loop()
    mine = {t for t in _running if t.get_loop() is loop}
    if mine:
        await asyncio.wait(mine, timeout=grace)
