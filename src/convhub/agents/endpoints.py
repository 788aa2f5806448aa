"""``/v1/agents``: a workspace's agents and the documents its knowledge agents answer from.

HTTP only: parse, call :mod:`convhub.agents.service`, shape the response.
Reading needs ``conversations:read``; every change needs ``agents:write``. The
``openai`` key is accepted and never returned. Documents arrive either as JSON
(``{"name", "content"}``) or as a multipart upload of one or more files; both
answer with the list of documents stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from convhub.agents import service
from convhub.agents.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentTooLarge,
    UnsupportedMediaType,
    decode_text,
    document_name,
    too_large,
)
from convhub.agents.schemas import AgentCreate, AgentPage, AgentRead, AgentUpdate, DocumentCreate, DocumentList
from convhub.auth.dependencies import Box, Cursors, ReadSubject, Session, require
from convhub.auth.service import AuthSubject
from convhub.errors import Conflict, NotFound, Unprocessable, error_responses

router = APIRouter(prefix="/v1/agents", tags=["agents"])

AgentWriter = Annotated[AuthSubject, Depends(require("agents:write"))]
AgentId = Annotated[str, Path(alias="id", min_length=1, max_length=40, description="The agent's id (agt_…).")]
DocumentId = Annotated[str, Path(alias="doc_id", min_length=1, max_length=40, description="The document's id.")]

MAX_FILES = 20
# A JSON string may spell a character in up to 6 bytes (\uXXXX); beyond this the body cannot be a valid document.
MAX_JSON_BODY = 6 * MAX_DOCUMENT_BYTES
MAX_MULTIPART_BODY = MAX_FILES * MAX_DOCUMENT_BYTES + 64 * 1024


@router.post(
    "",
    status_code=201,
    response_model=AgentRead,
    summary="Create an agent",
    description="A native agent: `knowledge` answers from the documents uploaded to it, `openai` from any "
    "OpenAI-compatible chat completions endpoint (`base_url` and `model` required).",
    responses=error_responses(Unprocessable),
)
async def create_agent(session: Session, subject: AgentWriter, box: Box, body: AgentCreate) -> AgentRead:
    agent = await service.create_agent(session, subject.workspace_id, body, box, actor=subject.key_id)
    return service.to_read(agent)


@router.get(
    "",
    response_model=AgentPage,
    summary="List agents",
    description="Native agents and agents mirrored from providers, oldest first.",
    responses=error_responses(Unprocessable),
)
async def list_agents(
    session: Session,
    subject: ReadSubject,
    cursors: Cursors,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE, description="Page size.")] = service.MAX_PAGE,
    cursor: Annotated[str | None, Query(max_length=2000, description="next_cursor of the previous page.")] = None,
    provider: Annotated[
        str | None, Query(max_length=20, description='Only agents of this provider ("convhub": native agents).')
    ] = None,
) -> AgentPage:
    return await service.list_agents(session, subject.workspace_id, codec=cursors, cursor=cursor, limit=limit,
                                     provider=provider)


@router.get(
    "/{id}",
    response_model=AgentRead,
    summary="Get an agent",
    responses=error_responses(NotFound, Unprocessable),
)
async def get_agent(session: Session, subject: ReadSubject, agent_id: AgentId) -> AgentRead:
    agent = await service.get_agent(session, subject.workspace_id, agent_id)
    return await service.read_agent(session, subject.workspace_id, agent)


@router.patch(
    "/{id}",
    response_model=AgentRead,
    summary="Change an agent",
    description="Only the fields sent change; `null` restores a setting's default (or removes the API key). "
    "A new `backend` drops the old backend's settings. A provider's agent can only be renamed.",
    responses=error_responses(NotFound, Conflict, Unprocessable),
)
async def update_agent(
    session: Session, subject: AgentWriter, box: Box, agent_id: AgentId, body: AgentUpdate
) -> AgentRead:
    agent = await service.update_agent(session, subject.workspace_id, agent_id, body, box, actor=subject.key_id)
    return await service.read_agent(session, subject.workspace_id, agent)


@router.delete(
    "/{id}",
    status_code=204,
    response_class=Response,
    summary="Delete an agent",
    description="Removes the agent and its documents. An agent with conversations cannot be deleted (409).",
    responses={204: {"description": "Deleted"}, **error_responses(NotFound, Conflict, Unprocessable)},
)
async def delete_agent(session: Session, subject: AgentWriter, agent_id: AgentId) -> Response:
    await service.delete_agent(session, subject.workspace_id, agent_id, actor=subject.key_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- documents

_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": DocumentCreate.model_json_schema()},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"},
                                        "description": f"Text or markdown files (UTF-8), up to {MAX_FILES}."}},
                "required": ["file"],
            }
        },
    },
}


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.headers["content-length"])
    except (KeyError, ValueError):
        return None


async def _json_document(request: Request) -> list[tuple[str, str]]:
    length = _declared_length(request)
    if length is not None and length > MAX_JSON_BODY:
        raise too_large("(request body)")
    raw = await request.body()
    if len(raw) > MAX_JSON_BODY:
        raise too_large("(request body)")
    try:
        body = DocumentCreate.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_context=False)]
        ) from None
    return [(body.name, body.content)]


async def _uploaded_documents(request: Request) -> list[tuple[str, str]]:
    length = _declared_length(request)
    if length is not None and length > MAX_MULTIPART_BODY:
        raise DocumentTooLarge(f"The upload is larger than {MAX_MULTIPART_BODY // (1024 * 1024)} MB; send fewer "
                               "files at a time.")
    documents: list[tuple[str, str]] = []
    async with request.form(max_files=MAX_FILES, max_fields=MAX_FILES) as form:
        uploads = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not uploads:
            raise Unprocessable("The upload has no file: send each document as a file field named 'file'.",
                                loc=("body", "file"))
        for n, upload in enumerate(uploads, start=1):
            name = document_name(upload.filename, f"document-{n}.txt")
            data = await upload.read(MAX_DOCUMENT_BYTES + 1)
            documents.append((name, decode_text(name, data)))
    return documents


@router.post(
    "/{id}/documents",
    status_code=201,
    response_model=DocumentList,
    summary="Add documents to a knowledge agent",
    description="JSON `{name, content}` for one document, or `multipart/form-data` with one or more `file` fields. "
    f"Each document is UTF-8 text or markdown of at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB; binary or "
    "empty files are refused and then nothing is stored. Answers with the documents stored.",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses=error_responses(NotFound, Conflict, DocumentTooLarge, UnsupportedMediaType, Unprocessable),
)
async def add_documents(request: Request, session: Session, subject: AgentWriter, agent_id: AgentId) -> DocumentList:
    # The agent is checked first: a 404 or 409 should not wait for a large upload to be parsed.
    agent = await service.get_agent(session, subject.workspace_id, agent_id)
    service.check_document_owner(agent)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        documents = await _json_document(request)
    elif content_type == "multipart/form-data":
        documents = await _uploaded_documents(request)
    else:
        raise UnsupportedMediaType(
            f"Send documents as application/json ({{\"name\", \"content\"}}) or multipart/form-data files, "
            f"not {content_type or 'a body without a content type'}."
        )
    rows = await service.add_documents(session, subject.workspace_id, agent.id, documents, actor=subject.key_id)
    return DocumentList(data=[service.document_read(row) for row in rows])


@router.get(
    "/{id}/documents",
    response_model=DocumentList,
    summary="List an agent's documents",
    description="Each document's name, length and first characters (not its full content).",
    responses=error_responses(NotFound, Unprocessable),
)
async def list_documents(session: Session, subject: ReadSubject, agent_id: AgentId) -> DocumentList:
    return DocumentList(data=await service.list_documents(session, subject.workspace_id, agent_id))


@router.delete(
    "/{id}/documents/{doc_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a document",
    responses={204: {"description": "Removed"}, **error_responses(NotFound, Unprocessable)},
)
async def delete_document(
    session: Session, subject: AgentWriter, agent_id: AgentId, document_id: DocumentId
) -> Response:
    await service.delete_document(session, subject.workspace_id, agent_id, document_id, actor=subject.key_id)
    return Response(status_code=204)
