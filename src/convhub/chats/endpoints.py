"""The chat API, on the native conversation routes: start a chat, send (or stream) messages, list them,
rate replies, end, take over and release, and read a conversation's analytics.

HTTP only: parse, call :mod:`convhub.chats.service`, shape the response. The
request owns the transaction (its session dependency commits when the endpoint
returns, before the response is sent); an endpoint that changes what live
monitors see queues the event on it (:func:`~convhub.chats.events.announce`),
published only once that commit succeeds.

Sending is all or nothing: the message and the agent's reply are stored
together, and when the agent fails nothing is stored (503), so sending again is
safe. Streaming cannot wait for the reply to store the message, so there the
message is stored (and announced) first; a failing agent then ends the stream
with an ``error`` event, and whatever it had said is stored marked
``interrupted``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Receive, Scope, Send

from convhub.agents.backends.base import BackendError
from convhub.auth.dependencies import Cursors, ReadSubject, Session, WriteSubject
from convhub.auth.service import AuthSubject
from convhub.chats import replies, service
from convhub.chats.events import announce
from convhub.chats.schemas import (
    MAX_PAGE,
    ChatConversationCreate,
    ChatConversationRead,
    ConversationAnalytics,
    ConversationEnd,
    MessageCreate,
    MessagePage,
    MessageRating,
    MessageRead,
    Order,
    SendResult,
    StreamDelta,
    StreamDone,
    StreamError,
)
from convhub.conversations.schemas import Role
from convhub.errors import Conflict, NotFound, ProviderUnavailable, Unprocessable, error_responses
from convhub.kit.time import utcnow

router = APIRouter(prefix="/v1/conversations", tags=["chat"])

MAX_REF = 200  # the longest conversation reference a path takes
ConversationId = Annotated[
    str,
    Path(alias="id", min_length=1, max_length=MAX_REF,
         description="convhub's conversation id (`conv_…`) or the provider's original id."),
]
MAX_MESSAGE_REF = 64  # longer than any message id
MessageId = Annotated[
    str,
    Path(min_length=1, max_length=MAX_MESSAGE_REF,
         description="The message's id (`msg_…`); here also the integer that named it before messages had ids."),
]
GlobalMessageId = Annotated[
    str, Path(min_length=1, max_length=MAX_MESSAGE_REF, description="The message's id (`msg_…`).")
]


SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def _frame(event: str, data: Any) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (event.encode(), orjson.dumps(data))


def _announce_turns(session: AsyncSession, request: Request, workspace_id: str, messages: list[MessageRead]) -> None:
    for message in messages:
        announce(session, request.app.state, workspace_id, "turn.added", message.model_dump(mode="json"),
                 conversation_id=message.conversation_id)


# ---------------------------------------------------------------- lifecycle


@router.post(
    "",
    status_code=201,
    response_model=ChatConversationRead,
    summary="Start a chat",
    description="A new conversation with a native agent (provider `convhub`), in progress from now: "
    "channel `chat`, its own id as `provider_conversation_id`. A mirrored agent is refused (422).",
    responses=error_responses(NotFound, Unprocessable),
)
async def create_chat(
    request: Request, session: Session, subject: WriteSubject, body: ChatConversationCreate
) -> ChatConversationRead:
    conv = await service.create_chat(session, subject.workspace_id, body, actor=subject.key_id)
    announce(session, request.app.state, subject.workspace_id, "conversation.status", {"status": conv.status},
             conversation_id=conv.id)
    return await service.to_chat_read(session, conv)


@router.post(
    "/{id}/end",
    response_model=ChatConversationRead,
    summary="End a chat",
    description="Status `done` from now, with the user's overall rating (1-5) and comment when given. "
    "Ending a conversation that has already ended is a 409.",
    responses=error_responses(NotFound, Conflict, Unprocessable),
)
async def end_chat(
    request: Request, session: Session, subject: WriteSubject, ref: ConversationId,
    body: ConversationEnd | None = None,
) -> ChatConversationRead:
    conv = await service.end_chat(session, subject.workspace_id, ref, body or ConversationEnd(),
                                  actor=subject.key_id)
    announce(session, request.app.state, subject.workspace_id, "conversation.status",
             {"status": conv.status, "termination_reason": conv.termination_reason}, conversation_id=conv.id)
    return await service.to_chat_read(session, conv)


# ---------------------------------------------------------------- messages


@router.post(
    "/{id}/messages",
    status_code=201,
    response_model=SendResult,
    summary="Send a message",
    description="Stores the message and the agent's reply to it, together. While an operator has taken the "
    "conversation over the agent does not reply (`reply` is null), and operators send with "
    "`role=human_operator`. An ended or archived conversation is a 409. If the agent fails, nothing is stored "
    "(503), so the message can be sent again.",
    responses=error_responses(NotFound, Conflict, Unprocessable, ProviderUnavailable),
)
async def send_message(
    request: Request, session: Session, subject: WriteSubject, ref: ConversationId, body: MessageCreate
) -> SendResult:
    conv, agent = await service.accept_message_with_agent(session, subject.workspace_id, ref, body.role)
    sent = service.NewTurn(body.role, body.content, utcnow())
    turns = [sent]
    if service.agent_replies(conv, body.role):
        context = await service.reply_context(session, conv, request.app.state.secretbox, agent=agent, pending=sent)
        try:
            text = await replies.collect(context)
        except BackendError as exc:
            raise ProviderUnavailable(f"The agent could not reply: {exc.message} Nothing was stored; "
                                      "send the message again.") from None
        turns.append(service.NewTurn(Role.agent.value, text, utcnow()))
    messages = [service.to_message(t) for t in await service.append_turns(session, conv, turns)]
    _announce_turns(session, request, subject.workspace_id, messages)
    return SendResult(conversation_id=conv.id, message=messages[0], reply=messages[1] if len(messages) > 1 else None)


_STREAM_DOC = (
    "The reply as server-sent events: `event: delta` frames "
    f"(`{StreamDelta.__name__}`: `{{\"delta\", \"content\"}}`, the same text twice), then `event: message` with the "
    "stored reply (a message, with its `id` for rating), then `event: done` "
    f"(`{StreamDone.__name__}`). The message sent is stored before the stream starts. If the agent fails, "
    f"`event: error` (`{StreamError.__name__}`: `{{\"message\"}}`) ends the stream, after an `event: message` "
    "with what it had said, stored with `interrupted: true`, when it had said anything. A client that disconnects "
    "mid-reply leaves what was produced stored the same way. While an operator holds the conversation the stream "
    "is a single `done` with `reply_id` null."
)


class ReplyStream(StreamingResponse):
    """An SSE response fed by a :class:`~convhub.chats.replies.ReplyProducer`, stopped when the client leaves."""

    def __init__(self, producer: replies.ReplyProducer, content: AsyncIterator[bytes]) -> None:
        super().__init__(content, media_type="text/event-stream", headers=SSE_HEADERS)
        self.producer = producer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.producer.start()
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Synchronous, so it runs even here, in a response cancelled by the client's disconnect.
            self.producer.stop()


async def _reply_frames(producer: replies.ReplyProducer, conversation_id: str, message_id: str) -> AsyncIterator[bytes]:
    """The reply's events, each batch the producer hands over written at once (one chunk of the response).

    The stored reply is the producer's last item, so its ``message`` event is held for the ``done`` that follows
    it at once: one write for both.
    """
    reply_id: str | None = None
    frames: list[bytes] = []
    async for batch in producer.batches():
        for item in batch:
            if isinstance(item, replies.Delta):
                frames.append(_frame("delta", {"delta": item.text, "content": item.text}))
            elif isinstance(item, replies.Stored):
                reply_id = item.message.id
                frames.append(_frame("message", item.data))
            else:
                frames.append(_frame("error", {"message": item.message}))
                yield b"".join(frames)
                return
        if reply_id is None:
            yield b"".join(frames)
            frames.clear()
    done = StreamDone(conversation_id=conversation_id, message_id=message_id, reply_id=reply_id, taken_over=False)
    frames.append(_frame("done", done.model_dump()))
    yield b"".join(frames)


async def _single(frame: bytes) -> AsyncIterator[bytes]:
    yield frame


async def open_stream(
    session: AsyncSession, state: Any, subject: AuthSubject, ref: str, body: MessageCreate
) -> tuple[replies.ReplyProducer | None, AsyncIterator[bytes]]:
    """Store the message and start the reply: the reply under way (None while an operator holds the chat) and
    the response's body, as SSE frames."""
    message, producer = await replies.begin_reply(session, state, subject.workspace_id, ref, body.role,
                                                  body.content)
    if producer is None:
        done = StreamDone(conversation_id=message.conversation_id, message_id=message.id, reply_id=None,
                          taken_over=True)
        return None, _single(_frame("done", done.model_dump()))
    return producer, _reply_frames(producer, message.conversation_id, message.id)


@router.post(
    "/{id}/messages/stream",
    response_class=StreamingResponse,
    summary="Send a message and stream the reply",
    description=_STREAM_DOC,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
              "description": "Server-sent events: delta…, message, done (or error)"},
        **error_responses(NotFound, Conflict, Unprocessable),
    },
)
async def stream_message(
    request: Request, session: Session, subject: WriteSubject, ref: ConversationId, body: MessageCreate
) -> StreamingResponse:
    producer, frames = await open_stream(session, request.app.state, subject, ref, body)
    if producer is None:
        return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)
    return ReplyStream(producer, frames)


class MessageListParams(BaseModel):
    """Query parameters of ``GET /v1/conversations/{id}/messages``."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=MAX_PAGE)
    order: Order = Field("asc", description="`asc`: transcript order; `desc`: newest first.")
    after: int | None = Field(None, ge=-1, le=2**31 - 1, description="Only messages with a greater index.")
    before: int | None = Field(None, ge=0, le=2**31 - 1, description="Only messages with a smaller index.")
    cursor: str | None = Field(None, max_length=2000, description="The next_cursor of the previous page.")


@router.get(
    "/{id}/messages",
    response_model=MessagePage,
    summary="List a conversation's messages",
    description="Paged, in transcript order (or newest first with `order=desc`), optionally between two "
    "message indexes (`after`, `before`, both exclusive).",
    responses=error_responses(NotFound, Unprocessable),
)
async def list_messages(
    session: Session, subject: ReadSubject, cursors: Cursors, ref: ConversationId,
    params: Annotated[MessageListParams, Query()],
) -> MessagePage:
    page = await service.list_messages(
        session, subject.workspace_id, ref, codec=cursors, cursor=params.cursor, after=params.after,
        before=params.before, order=params.order, limit=params.limit,
    )
    return MessagePage(data=[service.to_message(t) for t in page.rows], next_cursor=page.next_cursor,
                       has_more=page.has_more)


@router.post(
    "/{id}/messages/{message_id}/rating",
    response_model=MessageRead,
    summary="Rate an agent reply (in its conversation)",
    description="`POST /v1/messages/{message_id}/rating` under the conversation's path: the same rating, for a "
    "message of this conversation (404 for another's). It also takes the integer id messages had before they "
    "had `msg_…` ids.",
    responses=error_responses(NotFound, Unprocessable),
)
async def rate_message(
    session: Session, subject: WriteSubject, ref: ConversationId, message_id: MessageId, body: MessageRating
) -> MessageRead:
    turn = await service.rate_message(session, subject.workspace_id, ref, message_id, body, actor=subject.key_id)
    return service.to_message(turn)


# ---------------------------------------------------------------- takeover


@router.post(
    "/{id}/takeover",
    response_model=ChatConversationRead,
    summary="Take a chat over",
    description="The calling API key becomes the conversation's operator (its key needs `conversations:write`): "
    "the agent stops replying, the operator answers with `role=human_operator`, and the transcript and the "
    "event stream say so. Taking over what another operator holds, or an ended conversation, is a 409.",
    responses=error_responses(NotFound, Conflict, Unprocessable),
)
async def take_over(request: Request, session: Session, subject: WriteSubject, ref: ConversationId
                    ) -> ChatConversationRead:
    conv, notice = await service.take_over(session, subject.workspace_id, ref, operator=subject.key_id)
    read = await service.to_chat_read(session, conv)
    if notice is not None:
        data = {"operator": conv.taken_over_by, "taken_over_at": read.model_dump(mode="json")["taken_over_at"]}
        announce(session, request.app.state, subject.workspace_id, "conversation.takeover", data,
                 conversation_id=conv.id)
        _announce_turns(session, request, subject.workspace_id, [service.to_message(notice)])
    return read


@router.post(
    "/{id}/release",
    response_model=ChatConversationRead,
    summary="Hand a chat back to the agent",
    description="Ends a takeover (any key with `conversations:write`): the agent answers the next message.",
    responses=error_responses(NotFound, Conflict, Unprocessable),
)
async def release(request: Request, session: Session, subject: WriteSubject, ref: ConversationId
                  ) -> ChatConversationRead:
    conv, notice, operator = await service.release(session, subject.workspace_id, ref, actor=subject.key_id)
    announce(session, request.app.state, subject.workspace_id, "conversation.release",
             {"operator": operator, "released_by": subject.key_id}, conversation_id=conv.id)
    _announce_turns(session, request, subject.workspace_id, [service.to_message(notice)])
    return await service.to_chat_read(session, conv)


# ---------------------------------------------------------------- analytics


@router.get(
    "/{id}/analytics",
    response_model=ConversationAnalytics,
    summary="A conversation's analytics",
    description="Message statistics, the conversation's flow (duration, response times, turns) and its "
    "quality (ratings, likes and dislikes).",
    responses=error_responses(NotFound, Unprocessable),
)
async def conversation_analytics(session: Session, subject: ReadSubject, ref: ConversationId
                                 ) -> ConversationAnalytics:
    return await service.analytics(session, subject.workspace_id, ref)


# ---------------------------------------------------------------- messages by their own id

messages_router = APIRouter(prefix="/v1/messages", tags=["chat"])


@messages_router.post(
    "/{message_id}/rating",
    response_model=MessageRead,
    summary="Rate an agent reply",
    description="A rating from 1 to 5 with optional written feedback, for the message with this id (`msg_…`, "
    "as send, stream and list return it); rating again replaces it. Only the agent's replies can be rated (422 "
    "for other messages); an id this workspace does not hold is a 404.",
    responses=error_responses(NotFound, Unprocessable),
)
async def rate_message_by_id(
    session: Session, subject: WriteSubject, message_id: GlobalMessageId, body: MessageRating
) -> MessageRead:
    turn = await service.rate_message_by_id(session, subject.workspace_id, message_id, body, actor=subject.key_id)
    return service.to_message(turn)
