"""The native conversations API, ``/v1/conversations``.

HTTP only: parse and validate the request, call :mod:`convhub.conversations.service`,
shape the response. Every bad input is a 4xx with a message that says what to fix.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from convhub.auth.dependencies import Blobs, Cursors, ReadSubject, Session, WriteSubject
from convhub.conversations import service
from convhub.conversations.repository import ConversationFilters
from convhub.conversations.schemas import (
    ActiveConversations,
    CallSuccessful,
    ConversationDetail,
    ConversationPage,
    ConversationRead,
    ConversationStateRead,
    ConversationUpdate,
    Direction,
    EntityType,
    Status,
    TranscriptRead,
)
from convhub.errors import Conflict, NotFound, Unprocessable, error_responses
from convhub.kit.phones import to_e164
from convhub.kit.validation import INSTANT_FORMS, Instant, printable

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])

MAX_TEXT = 200  # the longest id or name any column holds
MAX_REPEAT = 100  # values of one repeatable parameter; each is a bound parameter of the query
MAX_SECS = 2**31 - 1


Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(printable)]
ConversationId = Annotated[
    str,
    Path(
        alias="id",
        min_length=1,
        max_length=MAX_TEXT,
        description="convhub's conversation id (`conv_…`) or the provider's original id.",
    ),
    AfterValidator(printable),
]


class ListParams(BaseModel):
    """Query parameters of ``GET /v1/conversations``; every filter given must match.

    Unknown parameters are refused (422), as in the ElevenLabs dialect: a misspelt
    filter (``page_size`` for ``limit``, ``agent`` for ``agent_id``) would otherwise
    silently return more than the caller asked for.
    """

    model_config = ConfigDict(extra="forbid")

    agent_id: list[Text] = Field(
        default_factory=list,
        max_length=MAX_REPEAT,
        description="Repeatable; convhub agent id or the provider's agent id.",
    )
    provider: Text | None = Field(None, description="elevenlabs, retell, vapi or convhub.")
    status: Status | None = None
    channel: Text | None = Field(None, description="phone, web, chat, whatsapp…")
    direction: Direction | None = None
    entity_type: EntityType | None = None
    user_id: Text | None = None
    customer: Text | None = Field(None, description="Customer phone number; normalized to E.164 when it parses.")
    started_after: Instant | None = Field(None, description=f"Inclusive; {INSTANT_FORMS}.")
    started_before: Instant | None = Field(None, description=f"Inclusive; {INSTANT_FORMS}.")
    duration_min: int | None = Field(None, ge=0, le=MAX_SECS, description="Seconds, inclusive.")
    duration_max: int | None = Field(None, ge=0, le=MAX_SECS, description="Seconds, inclusive.")
    rating_min: int | None = Field(None, ge=1, le=5)
    rating_max: int | None = Field(None, ge=1, le=5)
    call_successful: CallSuccessful | None = None
    has_audio: bool | None = None
    archived: bool | None = Field(None, description="Unset: archived and unarchived alike.")
    metadata: list[Annotated[str, Field(max_length=2 * MAX_TEXT), AfterValidator(printable)]] = Field(
        default_factory=list,
        max_length=MAX_REPEAT,
        description="Repeatable `key=value`; the metadata value as text must equal it.",
    )
    q: Annotated[str, Field(max_length=500)] | None = Field(None, description="Full-text search over the turns.")
    sort: Literal["started_at", "duration", "rating"] = "started_at"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(30, ge=1, le=service.MAX_PAGE, description="Page size.")
    cursor: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="The next_cursor of the previous page, with the same sort and order."
    )

    @field_validator("metadata")
    @classmethod
    def _pairs(cls, value: list[str]) -> list[str]:
        for pair in value:
            key, sep, _ = pair.partition("=")
            if not sep or not key:
                raise ValueError(f"{pair!r} is not of the form key=value")
            if '"' in key:  # SQLite's JSON paths cannot quote it
                raise ValueError(f"the key {key!r} contains '\"', which metadata filters do not support")
        return value

    @model_validator(mode="after")
    def _ranges(self) -> ListParams:
        for low, high in (("started_after", "started_before"), ("duration_min", "duration_max"),
                          ("rating_min", "rating_max")):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{low} must not be greater than {high}")
        return self

    def filters(self) -> ConversationFilters:
        return ConversationFilters(
            provider=self.provider,
            status=self.status.value if self.status else None,
            channel=self.channel,
            direction=self.direction.value if self.direction else None,
            entity_type=self.entity_type.value if self.entity_type else None,
            user_id=self.user_id,
            customer_number=(to_e164(self.customer) or self.customer) if self.customer is not None else None,
            started_after=self.started_after,
            started_before=self.started_before,
            duration_min=self.duration_min,
            duration_max=self.duration_max,
            rating_min=self.rating_min,
            rating_max=self.rating_max,
            call_successful=self.call_successful.value if self.call_successful else None,
            has_audio=self.has_audio,
            archived=self.archived,
            metadata=[(key, value) for key, _, value in (p.partition("=") for p in self.metadata)],
            search=self.q,
        )


@router.get(
    "",
    response_model=ConversationPage,
    summary="List conversations",
    description="Filter, sort and page through the workspace's conversations (keyset cursor pagination).",
    responses=error_responses(Unprocessable),
)
async def list_conversations(
    session: Session, subject: ReadSubject, cursors: Cursors, params: Annotated[ListParams, Query()]
) -> ConversationPage:
    page = await service.list_conversations(
        session,
        subject.workspace_id,
        params.filters(),
        codec=cursors,
        cursor=params.cursor,
        sort=params.sort,
        descending=params.order == "desc",
        limit=params.limit,
        agent_refs=params.agent_id or None,
    )
    return ConversationPage(
        data=[service.to_read(row, page.agent_names.get(row.agent_id)) for row in page.rows],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


@router.get(
    "/active",
    response_model=ActiveConversations,
    summary="Conversations under way",
    description="Conversations that are initiated or in progress, newest first, each with its latest turn.",
    responses=error_responses(),
)
async def active_conversations(session: Session, subject: ReadSubject) -> ActiveConversations:
    return ActiveConversations(data=await service.list_active(session, subject.workspace_id))


@router.get(
    "/{id}",
    response_model=ConversationDetail,
    summary="Get a conversation",
    description="The conversation with its analysis and full transcript.",
    responses=error_responses(NotFound, Unprocessable),
)
async def get_conversation(session: Session, subject: ReadSubject, ref: ConversationId) -> ConversationDetail:
    conv = await service.get_conversation(session, subject.workspace_id, ref)
    turns = await service.get_turns(session, conv)
    return service.to_detail(conv, turns, await service.agent_name(session, conv))


@router.get(
    "/{id}/transcript",
    response_model=TranscriptRead,
    summary="Get a conversation's transcript",
    responses=error_responses(NotFound, Unprocessable),
)
async def get_transcript(session: Session, subject: ReadSubject, ref: ConversationId) -> TranscriptRead:
    conv = await service.get_conversation(session, subject.workspace_id, ref)
    turns = await service.get_turns(session, conv)
    return TranscriptRead(conversation_id=conv.id, turns=[service.to_turn(t) for t in turns])


@router.patch(
    "/{id}",
    response_model=ConversationRead,
    summary="Update a conversation's metadata",
    description="Merges `metadata` into the stored metadata; a null value removes that key.",
    responses=error_responses(NotFound, Unprocessable),
)
async def update_conversation(
    session: Session, subject: WriteSubject, ref: ConversationId, body: ConversationUpdate
) -> ConversationRead:
    conv = await service.update_metadata(session, subject.workspace_id, ref, body.metadata, actor=subject.key_id)
    return service.to_read(conv, await service.agent_name(session, conv))


@router.post(
    "/{id}/archive",
    response_model=ConversationStateRead,
    summary="Archive a finished conversation",
    description="Sets `archived` on a finished conversation (`done` or `failed`, from any source); one still "
    "under way is a 409. An archived chat takes no more messages.",
    responses=error_responses(NotFound, Conflict, Unprocessable),
)
async def archive_conversation(session: Session, subject: WriteSubject, ref: ConversationId
                               ) -> ConversationStateRead:
    conv = await service.archive(session, subject.workspace_id, ref, actor=subject.key_id)
    return await service.to_state_read(session, conv)


@router.delete(
    "/{id}",
    status_code=204,
    response_class=Response,
    summary="Delete a conversation",
    description="Deletes the conversation, its turns, analysis and audio for good.",
    responses={204: {"description": "Deleted"}, **error_responses(NotFound, Unprocessable)},
)
async def delete_conversation(
    session: Session, subject: WriteSubject, blobs: Blobs, ref: ConversationId
) -> Response:
    await service.delete_conversation(session, subject.workspace_id, ref, blobs, actor=subject.key_id)
    return Response(status_code=204)


@router.get(
    "/{id}/audio",
    response_class=StreamingResponse,
    summary="Download a conversation's audio",
    responses={
        200: {"content": {"audio/mpeg": {"schema": {"type": "string", "format": "binary"}}},
              "description": "The recording, streamed as MP3"},
        **error_responses(NotFound, Unprocessable),
    },
)
async def get_audio(session: Session, subject: ReadSubject, blobs: Blobs, ref: ConversationId) -> StreamingResponse:
    conv = await service.get_conversation(session, subject.workspace_id, ref)
    return StreamingResponse(
        await service.audio_stream(conv, blobs),
        media_type="audio/mpeg",
        headers={"Content-Disposition": f'inline; filename="{conv.id}.mp3"'},
    )
