"""``GET /v1/events``: a workspace's live events as server-sent events, for operators watching conversations.

HTTP only: validate the filters, subscribe to the bus (``app.state.events``)
before the response starts, so an event published once the client has the
response headers is never missed, and write one SSE frame per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from convhub.auth.dependencies import ReadSubject
from convhub.errors import error_responses
from convhub.live.bus import EVENT_ID_PATTERN, LAGGED, Event, EventBus, EventType, Subscription

router = APIRouter(prefix="/v1/events", tags=["live"])

HEARTBEAT_SECS = 15.0  # a comment frame this often keeps proxies from closing an idle stream
CONVERSATION_ID_PATTERN = r"^conv_[0-9a-z]{26}$"

_STREAM_DOC = (
    "One frame per event: `id: <event id>`, `event: <type>`, `data: {\"id\", \"type\", \"conversation_id\", "
    "\"at\", \"data\"}`; a `: keep-alive` comment every 15 s. A final `stream.lagged` event means the client "
    "fell behind and was disconnected; reconnecting with its id as `Last-Event-ID` resumes."
)


MAX_BATCH = 100  # events written at once when a subscriber has fallen a little behind


async def _frames(subscription: Subscription) -> AsyncIterator[bytes]:
    """SSE frames: whatever is queued goes out in one write (one socket write per event is most of the cost
    of fanning out to hundreds of subscribers); a keep-alive comment when nothing happened for a while."""
    async with subscription:
        while True:
            try:
                async with asyncio.timeout(HEARTBEAT_SECS):
                    event = await anext(subscription)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            except StopAsyncIteration:
                return
            batch = [_frame(event)]
            while event.type != LAGGED and len(batch) < MAX_BATCH and (more := subscription.next_nowait()):
                event = more
                batch.append(_frame(event))
            yield b"".join(batch)
            if event.type == LAGGED:
                return


def _frame(event: Event) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event.id.encode(), event.type.encode(), event.json)


@router.get(
    "",
    summary="Live events of the workspace (server-sent events)",
    description=(
        "Turns added, status changes, takeovers and releases, sync progress — as they happen, in order. "
        "Filter by `conversation_id` and by `type` (repeatable). To resume after a dropped connection, send the "
        "last id received as the `Last-Event-ID` header (browsers do) or the `last_event_id` parameter: the "
        "recent events after it (up to the last 1,000 of the workspace) come first. " + _STREAM_DOC
    ),
    response_class=StreamingResponse,
    responses={**error_responses(), 200: {"content": {"text/event-stream": {}}, "description": _STREAM_DOC}},
)
async def stream_events(
    request: Request,
    subject: ReadSubject,
    conversation_id: Annotated[str | None, Query(pattern=CONVERSATION_ID_PATTERN,
                                                 description="Only this conversation's events.")] = None,
    type: Annotated[list[EventType] | None, Query(description="Only these event types (repeatable).")] = None,
    last_event_id: Annotated[str | None, Query(pattern=EVENT_ID_PATTERN,
                                               description="Resume after this event id.")] = None,
    last_event_id_header: Annotated[str | None, Header(
        alias="Last-Event-ID", pattern=EVENT_ID_PATTERN, description="Resume after this event id (browsers send it)."
    )] = None,
) -> StreamingResponse:
    bus: EventBus = request.app.state.events
    # The header wins: a browser reconnecting sends it, newer than a parameter still in the URL.
    subscription = bus.subscribe(subject.workspace_id, after=last_event_id_header or last_event_id,
                                 types=set(type) if type else None, conversation_id=conversation_id)
    return StreamingResponse(
        _frames(subscription),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        # Also closes the subscription when the client leaves before the first frame is written.
        background=BackgroundTask(subscription.aclose),
    )
