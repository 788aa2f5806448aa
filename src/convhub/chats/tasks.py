"""The inactivity job: chats nobody has written to for a while are ended, so they stop counting as live.

A person who closes the browser tab never ends the chat; without this, such
chats would stay ``in-progress`` for ever, on the active list and out of the
finished-conversation analytics. The work is :func:`end_idle_chats` (one pass,
which tests call directly); :func:`inactivity_loop` runs it every minute in
``convhub serve``. A pass lost with the process is simply the next one's work,
since what is idle is read from the database each time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from convhub.chats.events import announce
from convhub.chats.repository import IdleChat
from convhub.chats.service import INACTIVITY_REASON, end_inactive
from convhub.db import Database
from convhub.kit.time import utcnow

log = logging.getLogger("convhub.chats")


async def end_idle_chats(database: Database, state: Any, minutes: int) -> list[IdleChat]:
    """One pass: end every chat idle for ``minutes``, and announce each once that is committed."""
    async with database.session() as session:
        ended = await end_inactive(session, utcnow(), minutes)
        for chat in ended:
            announce(session, state, chat.workspace_id, "conversation.status",
                     {"status": "done", "termination_reason": INACTIVITY_REASON}, conversation_id=chat.id)
    return ended


async def inactivity_loop(database: Database, state: Any, minutes: int, *, every: float = 60.0) -> None:
    """End idle chats every ``every`` seconds until cancelled."""
    while True:
        try:
            await end_idle_chats(database, state, minutes)
        except Exception:  # a bad pass is logged; the next one tries again
            log.exception("ending idle chats failed")
        await asyncio.sleep(every)

