"""The embedded job runner: background tasks in this process, bounded, logged, drained at shutdown.

The work a job does lives in plain async functions that tests call directly
(``SyncEngine.execute``, ``webhooks.processor.process_pending``); a job is only
the scheduling of one. State that must survive a crash is in the database (a
run's checkpoint, a webhook event's status), so a job lost with the process is
re-derived at start-up: the app's lifespan wakes the webhook processor
(:class:`convhub.webhooks.processor.WebhookProcessor`), which takes up events
stored but not processed, and an interrupted sync resumes from its checkpoint
on its next run. A job that raises is logged with its name and traceback, never
lost silently.

Why not a task library yet: the embedded default needs nothing more than
asyncio tasks, and a queue shared by several processes (Redis) arrives with the
worker process; this class is the seam it will plug into.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("convhub.jobs")


class JobRunner:
    """Runs jobs as background tasks, at most ``concurrency`` at once (the rest wait for a free slot)."""

    def __init__(self, concurrency: int = 4) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._keys: dict[str, asyncio.Task[Any]] = {}

    def submit(self, name: str, job: Callable[[], Awaitable[Any]], *, key: str | None = None) -> asyncio.Task[Any]:
        """Run ``job()`` in the background. With ``key``, a job of that key already queued or running is reused."""
        if key is not None and (existing := self._keys.get(key)) is not None and not existing.done():
            return existing

        async def wrapped() -> Any:
            async with self._slots:
                try:
                    return await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("job %s failed", name)
                    return None

        task = asyncio.get_running_loop().create_task(wrapped(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if key is not None:
            self._keys[key] = task
            task.add_done_callback(lambda t: self._keys.pop(key, None) if self._keys.get(key) is t else None)
        return task

    async def drain(self) -> None:
        """Wait until no job is left, including jobs submitted meanwhile (tests use it to observe effects)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def shutdown(self, grace: float = 5.0) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=grace)
