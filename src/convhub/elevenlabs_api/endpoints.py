"""The ElevenLabs conversations dialect: ``/v1/convai/conversations…`` and ``/v1/convai/conversation/…``.

Code written against ElevenLabs, the official SDKs included, works against
convhub by pointing its base URL here. The endpoints only parse, call
:mod:`convhub.conversations.service` and shape the answer (:mod:`.shape`).

A conversation is addressed by convhub's id or, when it came from ElevenLabs,
by its original ElevenLabs id; an agent by convhub's id or the provider's. The
answers carry the ids the caller knows (see :mod:`.shape`), and a signed URL
the ``agent_id`` the caller passed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from convhub.auth.dependencies import ReadSubject, Session, WriteSubject
from convhub.conversations import service
from convhub.elevenlabs_api import shape
from convhub.elevenlabs_api.filters import to_filters
from convhub.elevenlabs_api.schemas import (
    ConversationDetail,
    ConversationListQuery,
    ConversationsPage,
    ConversationToken,
    Empty,
    FeedbackRequest,
    SignedUrl,
)
from convhub.elevenlabs_api.signing import issue_conversation_token, sign_conversation_url
from convhub.errors import ConvhubError, NotFound, ValidationErrorBody, error_responses
from convhub.models import Conversation

router = APIRouter(prefix="/v1/convai", tags=["elevenlabs"])

PROVIDER = "elevenlabs"
MAX_REF = 200  # no id convhub stores is longer
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def _responses(*errors: type[ConvhubError]) -> dict[int | str, dict[str, Any]]:
    responses = error_responses(*errors)
    responses[422] = {"model": ValidationErrorBody, "description": "A parameter or the body is malformed"}
    return responses


ConversationRef = Annotated[
    str, Path(description="convhub's conversation id, or the original ElevenLabs conversation id.")
]
AgentRef = Annotated[
    str, Query(min_length=1, max_length=MAX_REF, description="convhub's agent id, or the provider's agent id.")
]


async def _conversation(session: Session, workspace_id: str, ref: str) -> Conversation:
    if not ref or len(ref) > MAX_REF or "\x00" in ref:  # cannot name anything; spare the database
        raise NotFound(f"Conversation {ref[:MAX_REF]!r} not found.")
    return await service.get_conversation(session, workspace_id, ref, provider=PROVIDER)


async def _agent(session: Session, workspace_id: str, ref: str) -> str:
    if "\x00" in ref:
        raise NotFound(f"Agent {ref!r} not found.")
    return await service.resolve_agent(session, workspace_id, ref)


# ----------------------------------------------------------------- conversations


@router.get(
    "/conversations",
    response_model=ConversationsPage,
    summary="List conversations",
    description="Newest first. Every filter of the ElevenLabs reference; parameters convhub does not know are "
    "refused (422) rather than silently ignored.",
    responses=_responses(),
)
async def list_conversations(
    request: Request, session: Session, subject: ReadSubject, query: Annotated[ConversationListQuery, Query()]
) -> ConversationsPage:
    filters = to_filters(query)
    page = await service.list_conversations(
        session,
        subject.workspace_id,
        filters,
        codec=request.app.state.cursors,
        cursor=query.cursor,
        descending=query.sort_direction == "desc",
        limit=query.page_size,
        agent_refs=[query.agent_id] if query.agent_id is not None else None,
    )
    include = query.summary_mode == "include"
    return ConversationsPage(
        conversations=[
            shape.summary(row, page.agents.get(row.agent_id), include_summary=include) for row in page.rows
        ],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    summary="Get conversation details",
    responses=_responses(NotFound),
)
async def get_conversation(
    session: Session,
    subject: ReadSubject,
    conversation_id: ConversationRef,
    format: Annotated[  # the reference's name; only checked
        Literal["json"], Query(description="Only 'json': convhub has no OpenTelemetry rendering.")
    ] = "json",
) -> ConversationDetail:
    conv = await _conversation(session, subject.workspace_id, conversation_id)
    turns = await service.get_turns(session, conv)
    return shape.detail(conv, turns, await service.agent_of(session, conv))


@router.delete(
    "/conversations/{conversation_id}",
    response_model=Empty,
    summary="Delete conversation",
    description="Deletes the conversation, its transcript, analysis and audio.",
    responses=_responses(NotFound),
)
async def delete_conversation(
    request: Request, session: Session, subject: WriteSubject, conversation_id: ConversationRef
) -> Empty:
    conv = await _conversation(session, subject.workspace_id, conversation_id)
    await service.delete_conversation(
        session, subject.workspace_id, conv.id, request.app.state.blobs, actor=subject.key_id
    )
    return Empty()


@router.get(
    "/conversations/{conversation_id}/audio",
    response_class=StreamingResponse,
    summary="Get conversation audio",
    responses={
        200: {"content": {"audio/mpeg": {"schema": {"type": "string", "format": "binary"}}},
              "description": "The recording"},
        **_responses(NotFound),
    },
)
async def get_conversation_audio(
    request: Request, session: Session, subject: ReadSubject, conversation_id: ConversationRef
) -> StreamingResponse:
    conv = await _conversation(session, subject.workspace_id, conversation_id)
    stream = await service.audio_stream(conv, request.app.state.blobs, missing="This conversation has no audio.")
    return StreamingResponse(stream, media_type="audio/mpeg")


@router.post(
    "/conversations/{conversation_id}/feedback",
    response_model=Empty,
    summary="Send conversation feedback",
    description="Like or dislike the conversation, or send null to take that back. Shown in metadata.feedback.",
    responses=_responses(NotFound),
)
async def send_feedback(
    session: Session, subject: WriteSubject, conversation_id: ConversationRef, body: FeedbackRequest
) -> Empty:
    conv = await _conversation(session, subject.workspace_id, conversation_id)
    await service.send_feedback(session, subject.workspace_id, conv.id, body.feedback, actor=subject.key_id)
    return Empty()


# ------------------------------------------------------------- realtime access


def _ws_base_url(request: Request) -> str:
    """``ws(s)://host`` as the client reached us, through a reverse proxy too."""
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower() or request.url.scheme
    host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
    if not _HOST.match(host):
        host = request.url.netloc
    return f"{'wss' if proto in ('https', 'wss') else 'ws'}://{host}"


@router.get(
    "/conversation/get-signed-url",
    response_model=SignedUrl,
    summary="Get a signed URL",
    description="A WebSocket URL that opens a conversation with the agent without the API key; it carries the "
    "agent_id as passed. It expires; with include_conversation_id it names a fresh conversation and can be used "
    "once.",
    responses=_responses(NotFound),
)
async def get_signed_url(
    request: Request,
    session: Session,
    subject: WriteSubject,
    agent_id: AgentRef,
    include_conversation_id: Annotated[bool, Query(description="Name a fresh conversation; single use.")] = False,
) -> SignedUrl:
    settings = request.app.state.settings
    url = sign_conversation_url(
        settings.resolved_secret_key,
        ws_base_url=_ws_base_url(request),
        workspace_id=subject.workspace_id,
        agent_id=await _agent(session, subject.workspace_id, agent_id),
        include_conversation_id=include_conversation_id,
        ttl_secs=settings.signed_url_ttl_secs,
        agent_ref=agent_id,
    )
    return SignedUrl(signed_url=url)


@router.get(
    "/conversation/token",
    response_model=ConversationToken,
    summary="Get a conversation token",
    description="A short-lived token that opens one new conversation with the agent; conversation_id is the id "
    "that conversation will have.",
    responses=_responses(NotFound),
)
async def get_conversation_token(
    request: Request,
    session: Session,
    subject: WriteSubject,
    agent_id: AgentRef,
    participant_name: Annotated[
        str | None, Query(min_length=1, max_length=MAX_REF, pattern=r"^[^\x00]*$",
                          description="Shown as the participant's name.")
    ] = None,
) -> ConversationToken:
    settings = request.app.state.settings
    issued = issue_conversation_token(
        settings.resolved_secret_key,
        workspace_id=subject.workspace_id,
        agent_id=await _agent(session, subject.workspace_id, agent_id),
        participant_name=participant_name,
        ttl_secs=settings.token_ttl_secs,
        agent_ref=agent_id,
    )
    return ConversationToken(token=issued.token, conversation_id=issued.conversation_id)
