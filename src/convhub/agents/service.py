"""Agents: create, read, change and remove them, manage their documents, and open their backend.

Functions take the session first and never commit. Native agents (provider
``convhub``) have a backend whose settings live in the agent's ``config``; the
``openai`` key is encrypted with the :class:`~convhub.kit.secretbox.SecretBox`
on the way in and decrypted only in :func:`open_backend`, so it never reaches a
return value meant for a client or the audit log. Agents mirrored from a
provider are listed like any other but convhub does not run them: they get no
backend and no documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.agents.backends import knowledge
from convhub.agents.backends.base import AgentBackend
from convhub.agents.backends.openai import OpenAIBackend
from convhub.agents.documents import check_text
from convhub.agents.repository import AgentLookup, AgentRepository, DocumentRepository
from convhub.agents.schemas import (
    BACKEND_FIELDS,
    COMMON_FIELDS,
    REQUIRED_FIELDS,
    AgentCreate,
    AgentPage,
    AgentRead,
    AgentUpdate,
    DocumentRead,
    kind,
    misplaced_fields,
    misplaced_message,
    missing_message,
)
from convhub.conversations.repository import ConversationRepository
from convhub.errors import Conflict, NotFound, Unprocessable
from convhub.kit.ids import new_id
from convhub.kit.pagination import CursorCodec
from convhub.kit.secretbox import SecretBox
from convhub.kit.time import utcnow
from convhub.models import NATIVE, Agent, AgentDocument
from convhub.privacy.audit import record

MAX_PAGE = 100
PREVIEW_CHARS = 200
# Building an index this large takes long enough to hold up other requests: build it in a thread.
THREAD_INDEX_CHARS = 200_000


def _mirror_error(agent: Agent, what: str) -> Conflict:
    return Conflict(f"Agent {agent.id!r} mirrors {kind(agent.provider)}: {agent.provider} runs it, "
                    f"so it {what}. Create a native agent (POST /v1/agents) to chat with convhub.")


def to_read(agent: Agent, document_count: int = 0) -> AgentRead:
    config: dict[str, Any] = agent.config or {}
    return AgentRead(
        id=agent.id,
        name=agent.name,
        provider=agent.provider,
        provider_agent_id=agent.provider_agent_id,
        backend=agent.backend,
        public=agent.public,
        system_prompt=config.get("system_prompt"),
        context_budget_chars=config.get("context_budget_chars"),
        fallback_reply=config.get("fallback_reply"),
        base_url=config.get("base_url"),
        model=config.get("model"),
        has_api_key=bool(config.get("api_key_encrypted")),
        temperature=config.get("temperature"),
        max_tokens=config.get("max_tokens"),
        document_count=document_count,
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )


def _set(config: dict[str, Any], field: str, value: Any, box: SecretBox) -> None:
    """Write one backend setting into ``config``; ``None`` removes it (the default applies again)."""
    key = "api_key_encrypted" if field == "api_key" else field
    if value is None:
        config.pop(key, None)
    else:
        config[key] = box.encrypt(value) if field == "api_key" else value


async def create_agent(
    session: AsyncSession, workspace_id: str, body: AgentCreate, box: SecretBox, *, actor: str | None
) -> Agent:
    config: dict[str, Any] = {}
    for field in (*COMMON_FIELDS, *BACKEND_FIELDS[body.backend]):
        _set(config, field, getattr(body, field), box)
    now = utcnow()
    agent = Agent(
        id=new_id("agt"), workspace_id=workspace_id, name=body.name, provider=NATIVE, provider_agent_id=None,
        backend=body.backend, config=config, public=body.public, created_at=now, updated_at=now,
    )
    await AgentRepository(session, workspace_id).insert(agent)
    await record(session, workspace_id, actor=actor, action="agent.created", target_type="agent",
                 target_id=agent.id, detail={"name": agent.name, "backend": agent.backend, "public": agent.public,
                                             "fields": sorted(body.model_fields_set - {"api_key"})})
    return agent


async def get_agent(session: AsyncSession, workspace_id: str, agent_id: str) -> Agent:
    agent = await AgentRepository(session, workspace_id).get(agent_id)
    if agent is None:
        raise NotFound(f"Agent {agent_id!r} not found.")
    return agent


async def find_public_agent(session: AsyncSession, agent_id: str) -> Agent | None:
    """The native agent ``agent_id`` names, of any workspace, if it is public (anyone may talk to it)."""
    return await AgentLookup(session).public(agent_id)


async def read_agent(session: AsyncSession, workspace_id: str, agent: Agent) -> AgentRead:
    counts = await DocumentRepository(session, workspace_id).counts([agent.id])
    return to_read(agent, counts.get(agent.id, 0))


async def list_agents(
    session: AsyncSession,
    workspace_id: str,
    *,
    codec: CursorCodec,
    cursor: str | None = None,
    limit: int = MAX_PAGE,
    provider: str | None = None,
) -> AgentPage:
    """A page of the workspace's agents, native and mirrored, oldest first."""
    after = None
    if cursor:
        payload = codec.decode(cursor)
        after = payload.get("agent")
        if not isinstance(after, str):
            raise Unprocessable("Invalid cursor: pass the next_cursor value of a previous page unchanged.",
                                loc=("query", "cursor"))
    rows = await AgentRepository(session, workspace_id).page(after=after, limit=limit + 1, provider=provider)
    has_more = len(rows) > limit
    rows = rows[:limit]
    counts = await DocumentRepository(session, workspace_id).counts([a.id for a in rows])
    return AgentPage(
        data=[to_read(a, counts.get(a.id, 0)) for a in rows],
        next_cursor=codec.encode({"agent": rows[-1].id}) if has_more and rows else None,
        has_more=has_more,
    )


async def update_agent(
    session: AsyncSession,
    workspace_id: str,
    agent_id: str,
    body: AgentUpdate,
    box: SecretBox,
    *,
    actor: str | None,
) -> Agent:
    """Change the fields sent. A new backend drops the old one's settings and must be complete."""
    agent = await get_agent(session, workspace_id, agent_id)
    sent = set(body.model_fields_set)
    if agent.provider != NATIVE and sent - {"name"}:
        raise _mirror_error(agent, "has no backend settings; only its name can change")
    backend = body.backend if body.backend is not None else agent.backend
    config = dict(agent.config or {})
    if backend is not None:
        wrong = misplaced_fields(backend, {f for f in sent if getattr(body, f) is not None})
        if wrong:
            raise Unprocessable(misplaced_message(backend, wrong), loc=("body", wrong[0]))
        if backend != agent.backend:
            for field in BACKEND_FIELDS.get(agent.backend or "", ()):
                _set(config, field, None, box)
        for field in (*COMMON_FIELDS, *BACKEND_FIELDS[backend]):
            if field in sent:
                _set(config, field, getattr(body, field), box)
        missing = [f for f in REQUIRED_FIELDS[backend] if f not in config]
        if missing:
            raise Unprocessable(missing_message(backend, missing), loc=("body", missing[0]))
    changed = False
    for field, value in (("name", body.name), ("backend", backend), ("public", body.public)):
        if field in sent and value is not None and getattr(agent, field) != value:
            setattr(agent, field, value)
            changed = True
    if config != (agent.config or {}):
        agent.config = config  # a new dict: SQLAlchemy does not see changes made inside the old one
        changed = True
    if not changed:
        return agent
    agent.updated_at = utcnow()
    await AgentRepository(session, workspace_id).save(agent)
    await record(session, workspace_id, actor=actor, action="agent.updated", target_type="agent",
                 target_id=agent.id, detail={"fields": sorted(sent)})  # names only: a value may be a key
    return agent


async def delete_agent(session: AsyncSession, workspace_id: str, agent_id: str, *, actor: str | None) -> Agent:
    """Remove an agent with its documents; one that has conversations stays (409), they would lose it."""
    agent = await get_agent(session, workspace_id, agent_id)
    repo = AgentRepository(session, workspace_id)
    held = await ConversationRepository(session, workspace_id).count_of_agent(agent.id)
    if held:
        raise _in_use(agent, held)
    try:
        await repo.delete(agent.id)
    except IntegrityError:
        # A conversation started between the count and the delete; the transaction is lost, so no recount.
        raise _in_use(agent, 1) from None
    await record(session, workspace_id, actor=actor, action="agent.deleted", target_type="agent",
                 target_id=agent.id, detail={"name": agent.name, "provider": agent.provider,
                                             "backend": agent.backend})
    return agent


def _in_use(agent: Agent, conversations: int) -> Conflict:
    some = "a conversation" if conversations == 1 else f"{conversations} conversations"
    return Conflict(f"Agent {agent.id!r} has {some}; it cannot be deleted while they exist. "
                    "Delete or erase its conversations first.")


# ---------------------------------------------------------------- documents


def check_document_owner(agent: Agent) -> None:
    if agent.provider != NATIVE:
        raise _mirror_error(agent, "takes no documents")
    if agent.backend != "knowledge":
        raise Conflict(f"Agent {agent.id!r} uses the {agent.backend} backend; only knowledge agents answer from "
                       "documents. Change its backend to knowledge first.")


async def add_documents(
    session: AsyncSession,
    workspace_id: str,
    agent_id: str,
    documents: Sequence[tuple[str, str]],
    *,
    actor: str | None,
) -> list[AgentDocument]:
    """Store (name, text) documents for a knowledge agent; every text is checked before any is stored."""
    agent = await get_agent(session, workspace_id, agent_id)
    check_document_owner(agent)
    if not documents:
        raise Unprocessable("No documents given.", loc=("body",))
    checked = [(name, check_text(name, content)) for name, content in documents]
    now = utcnow()
    rows = [
        AgentDocument(id=new_id("doc"), workspace_id=workspace_id, agent_id=agent.id, name=name, content=content,
                      created_at=now)
        for name, content in checked
    ]
    await DocumentRepository(session, workspace_id).insert(rows)
    for row in rows:
        await record(session, workspace_id, actor=actor, action="agent.document_added", target_type="agent",
                     target_id=agent.id, detail={"document_id": row.id, "name": row.name, "chars": len(row.content)})
    return rows


def document_read(row: AgentDocument) -> DocumentRead:
    return DocumentRead(id=row.id, agent_id=row.agent_id, name=row.name, chars=len(row.content),
                        preview=row.content[:PREVIEW_CHARS], created_at=row.created_at)


async def list_documents(session: AsyncSession, workspace_id: str, agent_id: str) -> list[DocumentRead]:
    agent = await get_agent(session, workspace_id, agent_id)
    summaries = await DocumentRepository(session, workspace_id).summaries(agent.id, PREVIEW_CHARS)
    return [DocumentRead(id=s.id, agent_id=agent.id, name=s.name, chars=s.chars, preview=s.preview,
                         created_at=s.created_at) for s in summaries]


async def delete_document(
    session: AsyncSession, workspace_id: str, agent_id: str, document_id: str, *, actor: str | None
) -> None:
    agent = await get_agent(session, workspace_id, agent_id)
    if not await DocumentRepository(session, workspace_id).delete(agent.id, document_id):
        raise NotFound(f"Document {document_id!r} of agent {agent.id!r} not found.")
    await record(session, workspace_id, actor=actor, action="agent.document_deleted", target_type="agent",
                 target_id=agent.id, detail={"document_id": document_id})


# ---------------------------------------------------------------- backends


async def _knowledge_index(session: AsyncSession, workspace_id: str, agent: Agent) -> knowledge.KnowledgeIndex:
    repo = DocumentRepository(session, workspace_id)
    key = (agent.id, *await repo.ids_of_agent(agent.id))
    index = knowledge.cached_index(key)
    if index is None:
        sources = [knowledge.SourceDocument(d.name, d.content) for d in await repo.of_agent(agent.id)]
        if sum(len(s.content) for s in sources) > THREAD_INDEX_CHARS:
            index = await asyncio.to_thread(knowledge.KnowledgeIndex, sources)
        else:
            index = knowledge.KnowledgeIndex(sources)
        knowledge.remember_index(key, index)
    return index


async def open_backend(
    session: AsyncSession,
    workspace_id: str,
    agent: Agent,
    box: SecretBox,
    *,
    http_client: httpx.AsyncClient | None = None,
) -> AgentBackend:
    """The backend that writes ``agent``'s replies (409 for an agent convhub does not run).

    ``http_client`` is the HTTP client an ``openai`` agent uses instead of the shared pool (tests, benchmarks).
    """
    if agent.workspace_id != workspace_id:
        raise NotFound(f"Agent {agent.id!r} not found.")
    if agent.provider != NATIVE:
        raise _mirror_error(agent, "cannot reply through convhub")
    config: dict[str, Any] = agent.config or {}
    if agent.backend == "knowledge":
        return knowledge.KnowledgeBackend(
            await _knowledge_index(session, workspace_id, agent), fallback_reply=config.get("fallback_reply")
        )
    if agent.backend == "openai":
        token = config.get("api_key_encrypted")
        return OpenAIBackend(
            base_url=str(config["base_url"]),
            model=str(config["model"]),
            api_key=box.decrypt(token) if token else None,
            temperature=config.get("temperature"),
            max_tokens=config.get("max_tokens"),
            client=http_client,
        )
    raise Conflict(f"Agent {agent.id!r} has no backend convhub knows ({agent.backend!r}).")
