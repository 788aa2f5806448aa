"""Telling live monitors what a chat did, after the commit that made it so.

One helper, so every caller (the endpoints, the reply producer, the inactivity
job) publishes the same way: only once the change is committed (a monitor must
never see a turn that then rolls back), and never failing the caller, whose
change has already happened.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("convhub.chats")


async def announce(
    state: Any, workspace_id: str, type: str, data: Mapping[str, Any], *, conversation_id: str
) -> None:
    """Publish on ``state.events`` (the app's event bus); nothing when the app has none."""
    events = getattr(state, "events", None)
    if events is None:
        return
    try:
        await events.publish(workspace_id, type, data, conversation_id=conversation_id)
    except Exception:  # live monitoring is best effort; the database is the record
        log.warning("could not publish %s for %s", type, conversation_id, exc_info=True)
