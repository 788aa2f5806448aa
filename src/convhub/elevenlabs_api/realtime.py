"""``/v1/convai/conversation``: a live text conversation with a native agent over a WebSocket.

It speaks the text subset of ElevenLabs' conversational protocol
(:mod:`convhub.elevenlabs_api.protocol`), so the official SDKs' ``Conversation`` classes
hold conversations with convhub agents unchanged. docs/realtime.md is the
protocol's reference.

Opening: a ``conversation_signature`` (from ``get-signed-url``), a ``token``
(from ``…/token``), an API key header (servers), or nothing for an agent marked
public. A credential that names a conversation opens it once: the conversation
is created under that id, so the second attempt finds it and is refused.
Refusals happen before the socket is accepted, as the HTTP error response a
request would get (or, on a server without WebSocket denial responses, a close
with code 1008 and the message as its reason).

The conversation itself is an ordinary chat: every message goes through
:mod:`convhub.chats.service` in a transaction of its own (the socket owns
each: :meth:`~convhub.db.Database.session`), replies are produced and stored
by :class:`~convhub.chats.replies.ReplyProducer`, and everything is announced
on the event bus once committed, so it is visible at once through both APIs
and to monitors. What monitors cause in return (an operator taking
over, writing, releasing, ending the chat) reaches the socket through the
same bus. When the client goes away the conversation ends (``client_disconnected``);
a reply it was waiting for is stored as far as it got, marked interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from convhub.agents import service as agents
from convhub.agents.context import system_prompt
from convhub.auth.service import authenticate
from convhub.chats import replies, service
from convhub.chats.events import announce
from convhub.chats.schemas import ChatConversationCreate, ConversationEnd
from convhub.conversations import service as conversations
from convhub.conversations.schemas import Role, Status
from convhub.db import Database
from convhub.elevenlabs_api import protocol
from convhub.elevenlabs_api.signing import CONVERSATION_PATH, verify_conversation_signature, verify_conversation_token
from convhub.errors import Conflict, ConvhubError, Forbidden, Unauthorized, Unprocessable, error_response
from convhub.live.bus import Event, Subscription
from convhub.models import NATIVE, Agent

log = logging.getLogger("convhub.realtime")

router = APIRouter(tags=["realtime"])

DISCONNECTED_REASON = "client_disconnected"
INITIATION_TIMEOUT_SECS = 10.0  # how long the client has to send its set-up before the defaults apply
POLICY_VIOLATION = 1008
TOUCH_EVERY_SECS = 10.0  # user_activity reaches the database at most this often
_LISTENED = ("turn.added", "conversation.status", "conversation.takeover", "conversation.release")


@dataclass(frozen=True)
class Grant:
    """Who may open what: the workspace, the agent, and the conversation id the credential names (if any)."""

    workspace_id: str
    agent: Agent
    conversation_id: str | None
    participant_name: str | None = None


# ---------------------------------------------------------------- opening


async def authorize(websocket: WebSocket, database: Database, secret: str) -> Grant:
    """The grant of the handshake's credential; else the error that refuses the handshake."""
    params = websocket.query_params
    agent_ref = params.get("agent_id")
    signature = params.get("conversation_signature")
    token = params.get("token") or params.get("conversation_token")
    api_key = websocket.headers.get("xi-api-key") or _bearer(websocket.headers.get("authorization"))
    if agent_ref is not None and (not 0 < len(agent_ref) <= 200 or not agent_ref.isprintable()):
        raise Unprocessable("agent_id must be 1 to 200 printable characters.", loc=("query", "agent_id"))
    if signature is not None:
        if agent_ref is None:
            raise Unprocessable("A signed URL carries agent_id; use the URL exactly as get-signed-url returned it.",
                                loc=("query", "agent_id"))
        signed = verify_conversation_signature(secret, signature, agent_ref)
        if signed is None:
            raise Unauthorized("This signed URL is invalid or has expired. Ask for a new one "
                               "(GET /v1/convai/conversation/get-signed-url).")
        workspace_id, conversation_id, name = signed.workspace_id, signed.conversation_id, None
        agent_ref = signed.agent_id
    elif token is not None:
        granted = verify_conversation_token(secret, token, agent_id=agent_ref)
        if granted is None:
            raise Unauthorized("This conversation token is invalid, has expired or is for another agent. Ask "
                               "for a new one (GET /v1/convai/conversation/token).")
        workspace_id, conversation_id, name = granted.workspace_id, granted.conversation_id, granted.participant_name
        agent_ref = granted.agent_id
    elif agent_ref is None:
        raise Unprocessable("Name the agent: /v1/convai/conversation?agent_id=…", loc=("query", "agent_id"))
    elif api_key is not None:
        async with database.session() as session:
            subject = await authenticate(session, api_key)
        if not subject.has("conversations:write"):
            raise Forbidden("This API key lacks the 'conversations:write' scope.")
        workspace_id, conversation_id, name = subject.workspace_id, None, None
    else:
        async with database.session() as session:
            public = await agents.find_public_agent(session, agent_ref)
        if public is None:
            raise Unauthorized(f"Agent {agent_ref!r} is not public (or does not exist): open the conversation "
                               "with a signed URL (GET /v1/convai/conversation/get-signed-url) or a token.")
        return Grant(public.workspace_id, public, None)
    async with database.session() as session:
        agent = await agents.get_agent(session, workspace_id, agent_ref)
        if conversation_id is not None and await conversations.find_conversation(session, workspace_id,
                                                                                 conversation_id):
            raise Conflict(f"This credential opened conversation {conversation_id!r} already; it works once. "
                           "Ask for a new one.")
    if agent.provider != NATIVE:
        raise Unprocessable(f"Agent {agent.id!r} mirrors a {agent.provider} agent, which {agent.provider} runs; "
                            "realtime conversations need a native agent.", loc=("query", "agent_id"))
    return Grant(workspace_id, agent, conversation_id, name)


def _bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


class _DenialNoise(logging.Filter):
    """Drops the error uvicorn's default WebSocket implementation (websockets-sansio) logs after every denial
    response, although the client got the denial (Kludex/uvicorn#3138, open as of uvicorn 0.54): a refused
    signed URL is not a server error, and it must not page whoever alerts on ``uvicorn.error``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


def quiet_denial_noise() -> None:
    """Install :class:`_DenialNoise` on uvicorn's error log (once; convhub sends denials only from here)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DenialNoise) for f in logger.filters):
        logger.addFilter(_DenialNoise())


async def _refuse(websocket: WebSocket, refusal: ConvhubError) -> None:
    """Answer the handshake with the error response an HTTP request would get (or a 1008 close with its message
    on a server that cannot send one)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(refusal))
    else:
        await websocket.close(POLICY_VIOLATION, refusal.message[:120])


@router.websocket(CONVERSATION_PATH)
async def conversation_socket(websocket: WebSocket) -> None:
    state = websocket.app.state
    try:
        grant = await authorize(websocket, state.db, state.settings.resolved_secret_key)
    except ConvhubError as refusal:
        await _refuse(websocket, refusal)
        return
    await websocket.accept()
    await RealtimeSession(websocket, state, grant).run()


# ---------------------------------------------------------------- the conversation


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


class _Closed(Exception):
    """The socket is finished with: the client left, or convhub closed it."""


class RealtimeSession:
    """One open socket: the conversation it holds and the tasks that serve it."""

    def __init__(self, websocket: WebSocket, state: Any, grant: Grant) -> None:
        self.websocket = websocket
        self.state = state
        self.database: Database = state.db
        self.grant = grant
        self.workspace_id = grant.workspace_id
        self.conversation_id: str | None = None
        self.prompt: str | None = None
        self.ping_secs: float = state.settings.realtime_ping_secs
        self._send_lock = asyncio.Lock()
        self._inbox: asyncio.Queue[protocol.UserMessage] = asyncio.Queue()
        self._pings: dict[int, float] = {}
        self._ping_ms: int | None = None
        self._producer: replies.ReplyProducer | None = None
        self._touched = -TOUCH_EVERY_SECS  # when user_activity last reached the database (monotonic)
        self._ended = False  # the conversation has ended (here or elsewhere): nothing to end on the way out

    async def run(self) -> None:
        subscription: Subscription | None = None
        try:
            first = await self._start()
            subscription = self.state.events.subscribe(self.workspace_id, types=_LISTENED,
                                                       conversation_id=self.conversation_id)
            if isinstance(first, protocol.UserMessage):
                await self._inbox.put(first)
            elif isinstance(first, protocol.ContextualUpdate | protocol.UserActivity):
                await self._apply(first)
            tasks = [asyncio.create_task(coro) for coro in (
                self._read(), self._answer(), self._forward(subscription), self._ping())]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                if not task.cancelled() and (exc := task.exception()) and not isinstance(exc, _Closed):
                    log.error("realtime conversation %s failed", self.conversation_id, exc_info=exc)
        except _Closed:
            pass
        finally:
            if self._producer is not None:
                self._producer.stop()
                await self._producer.wait()
            if subscription is not None:
                await subscription.aclose()
            await self._finish()

    # -------------------------------------------------------- setting up

    async def _start(self) -> protocol.ClientEvent | None:
        """Read the set-up (or start with the defaults), create the conversation, greet; an event that came
        instead of the set-up, to act on now that the conversation exists."""
        setup: protocol.Initiation = protocol.Initiation()
        early: protocol.ClientEvent | None = None
        try:
            frame = await asyncio.wait_for(self._receive(), INITIATION_TIMEOUT_SECS)
        except TimeoutError:
            frame = None
        if frame is not None:
            try:
                event = protocol.parse_client_event(frame)
            except protocol.ProtocolError as exc:
                await self._send(protocol.error(exc.code, exc.message))
                await self._close(POLICY_VIOLATION, "The conversation set-up was refused; see the error event.")
                raise _Closed from None
            if isinstance(event, protocol.Initiation):
                setup = event
            else:
                early = event
        agent = self.grant.agent
        variables = setup.dynamic_variables
        if setup.prompt or (variables and "{{" in system_prompt(agent)):
            self.prompt = protocol.render(setup.prompt or system_prompt(agent), variables)
        metadata: dict[str, Any] = dict(variables)
        if setup.language:
            metadata.setdefault("language", setup.language)
        try:
            body = ChatConversationCreate(agent_id=agent.id, metadata=metadata,
                                          user_id=setup.user_id, title=self.grant.participant_name)
            async with self.database.session() as session:
                conv = await service.create_chat(session, self.workspace_id, body, actor=None,
                                                 conversation_id=self.grant.conversation_id)
                conversation_id = conv.id
                announce(session, self.state, self.workspace_id, "conversation.status",
                         {"status": Status.in_progress.value}, conversation_id=conversation_id)
                greeting = None
                if setup.first_message:
                    text = protocol.render(setup.first_message, variables)
                    (greeting,) = await service.append_turns(
                        session, conv, [service.NewTurn(Role.agent.value, text, conv.started_at)])
                    announce(session, self.state, self.workspace_id, "turn.added",
                             service.to_message(greeting).model_dump(mode="json"), conversation_id=conversation_id)
        except (IntegrityError, Conflict):
            # Two sockets raced with the same single-use credential; the other one got the conversation (a 409
            # once it is committed, a broken unique key while it is not).
            await self._send(protocol.error("conversation_closed", "This credential has been used already."))
            await self._close(POLICY_VIOLATION, "This credential has been used already.")
            raise _Closed from None
        except (ConvhubError, ValidationError) as exc:
            message = exc.message if isinstance(exc, ConvhubError) else _first_error(exc)
            await self._send(protocol.error("invalid_message", message))
            await self._close(POLICY_VIOLATION, "The conversation could not be started; see the error event.")
            raise _Closed from None
        self.conversation_id = conversation_id
        await self._send(protocol.initiation_metadata(conversation_id, agent.id))
        if setup.ignored:
            await self._send(protocol.error("unsupported_override", "convhub does not apply these overrides, "
                                            f"so they were ignored: {', '.join(setup.ignored)}."))
        if greeting is not None:
            await self._send(protocol.agent_response(greeting.message or "", message_id=greeting.public_id))
        return early

    # -------------------------------------------------------- the four tasks

    async def _read(self) -> None:
        """Take the client's frames until it leaves; messages wait their turn in the inbox."""
        while True:
            frame = await self._receive()
            try:
                event = protocol.parse_client_event(frame)
                if isinstance(event, protocol.UserMessage):
                    await self._inbox.put(event)
                elif isinstance(event, protocol.Pong):
                    sent = self._pings.pop(event.event_id, None)
                    if sent is not None:
                        self._ping_ms = round((time.monotonic() - sent) * 1000)
                elif isinstance(event, protocol.Initiation):
                    raise protocol.ProtocolError("already_started", "The conversation has been set up already; "
                                                 "conversation_initiation_client_data comes once, first.")
                else:
                    await self._apply(event)
            except protocol.ProtocolError as exc:
                await self._send(protocol.error(exc.code, exc.message))

    async def _apply(self, event: protocol.ContextualUpdate | protocol.UserActivity) -> None:
        assert self.conversation_id is not None
        if isinstance(event, protocol.UserActivity):
            now = time.monotonic()
            if now - self._touched < TOUCH_EVERY_SECS:
                return  # the clock counts minutes; a chatty client need not write every second
            self._touched = now
        try:
            async with self.database.session() as session:
                conv = await service.get_chat(session, self.workspace_id, self.conversation_id)
                if isinstance(event, protocol.ContextualUpdate):
                    note = service.to_message(await service.add_note(session, conv, event.text))
                    announce(session, self.state, self.workspace_id, "turn.added", note.model_dump(mode="json"),
                             conversation_id=self.conversation_id)
                else:
                    await service.touch(session, conv)
        except ConvhubError as exc:
            raise protocol.ProtocolError("conversation_closed", exc.message) from None

    async def _answer(self) -> None:
        """One user message at a time: store it, stream the agent's reply (unless an operator holds the chat)."""
        while True:
            message = await self._inbox.get()
            await self._reply_to(message.text)

    async def _reply_to(self, text: str) -> None:
        assert self.conversation_id is not None
        try:
            async with self.database.session() as session:
                _, producer = await replies.begin_reply(session, self.state, self.workspace_id,
                                                        self.conversation_id, Role.user.value, text,
                                                        prompt=self.prompt)
        except ConvhubError as exc:
            # A conversation that takes no more messages is a 409; anything else is the agent not opening.
            code: protocol.ErrorCode = "conversation_closed" if isinstance(exc, Conflict) else "agent_error"
            await self._send(protocol.error(code, exc.message))
            return
        if producer is None:
            return  # an operator answers, through the bus
        self._producer = producer
        try:
            await self._send(protocol.response_part("start"))
            stopped = False
            async for item in producer.items():
                if isinstance(item, replies.Delta):
                    await self._send(protocol.response_part("delta", item.text))
                    continue
                if not stopped:
                    await self._send(protocol.response_part("stop"))
                    stopped = True
                if isinstance(item, replies.Stored):  # all of it; or, before a failure, what it got out
                    reply = item.message
                    await self._send(protocol.agent_response(reply.content or "", message_id=reply.id,
                                                             interrupted=reply.interrupted))
                else:
                    await self._send(protocol.error("agent_error", item.message))
        finally:
            producer.stop()  # a reply cut off here is stored as far as it got; run() waits for that

    async def _forward(self, subscription: Subscription) -> None:
        """What happens to the conversation elsewhere: operators, takeovers, its end."""
        async for event in subscription:
            await self._relay(event)

    async def _relay(self, event: Event) -> None:
        data: Mapping[str, Any] = event.data
        if event.type == "turn.added" and data.get("role") == Role.human_operator.value:
            await self._send(protocol.agent_response(str(data.get("content") or ""), message_id=data.get("id"),
                                                     role=Role.human_operator.value))
        elif event.type == "conversation.takeover":
            await self._send(protocol.takeover(service.TAKEOVER_NOTICE))
        elif event.type == "conversation.release":
            await self._send(protocol.release(service.RELEASE_NOTICE))
        elif event.type == "conversation.status" and data.get("status") not in (None, Status.in_progress.value):
            self._ended = True
            reason = data.get("termination_reason") or data.get("status")
            await self._close(1000, f"The conversation ended ({reason}).")
            raise _Closed

    async def _ping(self) -> None:
        event_id = 0
        while True:
            await asyncio.sleep(self.ping_secs)
            event_id += 1
            self._pings = {k: v for k, v in self._pings.items() if k > event_id - 5}  # unanswered ones go
            self._pings[event_id] = time.monotonic()
            await self._send(protocol.ping(event_id, self._ping_ms))

    # -------------------------------------------------------- the socket

    async def _receive(self) -> str:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise _Closed
            if message.get("text") is not None:
                return str(message["text"])
            await self._send(protocol.error("invalid_message", "Binary frames are not supported; send JSON text."))

    async def _send(self, frame: str) -> None:
        if self.websocket.application_state != WebSocketState.CONNECTED:
            raise _Closed
        try:
            async with self._send_lock:
                await self.websocket.send_text(frame)
        except (WebSocketDisconnect, RuntimeError, OSError):
            raise _Closed from None

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(code, reason[:120])

    async def _finish(self) -> None:
        """The socket is gone: end the conversation it held, unless it ended already."""
        await self._close(1000, "Goodbye.")
        if self.conversation_id is None or self._ended:
            return
        try:
            async with self.database.session() as session:
                conv = await service.end_chat(session, self.workspace_id, self.conversation_id, ConversationEnd(),
                                              actor=None, reason=DISCONNECTED_REASON)
                announce(session, self.state, self.workspace_id, "conversation.status",
                         {"status": conv.status, "termination_reason": conv.termination_reason},
                         conversation_id=conv.id)
        except ConvhubError:
            return  # ended meanwhile, or deleted
