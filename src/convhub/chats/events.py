"""Telling live monitors what a chat did, once the transaction that did it has committed.

One helper, so every caller (the endpoints, the reply producer, the inactivity
job, the realtime socket) announces the same way: queued on the transaction's
unit of work (:func:`convhub.kit.uow.on_commit`), so a monitor never hears of a
turn that then rolls back, and never failing the caller, whose change has
already happened by the time it is published.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from convhub.kit.uow import on_commit

log = logging.getLogger("convhub.chats")


def announce(
    session: AsyncSession, state: Any, workspace_id: str, type: str, data: Mapping[str, Any], *,
    conversation_id: str,
) -> None:
    """Publish on ``state.events`` (the app's event bus) once ``session``'s transaction commits; nothing when
    the app has no bus."""

    async def publish() -> None:
        events = getattr(state, "events", None)
        if events is None:
            return
        try:
            await events.publish(workspace_id, type, data, conversation_id=conversation_id)
        except Exception:  # live monitoring is best effort; the database is the record
            log.warning("could not publish %s for %s", type, conversation_id, exc_info=True)

    on_commit(session, publish)
