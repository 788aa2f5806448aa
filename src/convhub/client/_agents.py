"""``client.agents``: convhub's own agents and the documents its knowledge agents answer from, sync and async."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack
from urllib.parse import quote

from ._base import AsyncAPIClient, Files, Params, SyncAPIClient, query
from ._pagination import AsyncPage, AsyncPaginator, SyncPage
from ._resources import _parse, _with_cursor
from .types import Agent, Document, _Model

__all__ = ["AgentFields", "Agents", "AsyncAgents", "DocumentSource"]

Backend = Literal["knowledge", "openai"]
# A file on disk, or a (name, content) pair built in memory.
DocumentSource = str | os.PathLike[str] | tuple[str, str | bytes]


class AgentFields(TypedDict, total=False):
    """Settings of a native agent besides its name and backend. Which apply depends on the backend
    (the server refuses the others); in ``update()`` a None restores the default (or removes the key)."""

    context_budget_chars: int | None
    fallback_reply: str | None  # knowledge
    base_url: str | None  # openai: e.g. http://localhost:11434/v1
    model: str | None  # openai
    api_key: str | None  # openai; stored encrypted, never returned
    temperature: float | None  # openai
    max_tokens: int | None  # openai


class AgentUpdate(AgentFields, total=False):
    name: str
    backend: Backend
    public: bool
    system_prompt: str | None


class _PageBody(_Model):
    data: builtins.list[Agent]
    next_cursor: str | None = None
    has_more: bool = False


class _DocumentsBody(_Model):
    data: builtins.list[Document]


_LIST = "/v1/agents"


def _agent_path(agent_id: str, suffix: str = "") -> str:
    if not agent_id:
        raise ValueError("agent_id must be a non-empty string")
    return f"{_LIST}/{quote(agent_id, safe='')}{suffix}"


def _create_body(
    name: str, backend: Backend, system_prompt: str | None, public: bool, fields: AgentFields
) -> dict[str, Any]:
    # Unset settings are left out rather than sent as null: the server refuses a field of the other backend.
    body: dict[str, Any] = {"name": name, "backend": backend, "public": public}
    if system_prompt is not None:
        body["system_prompt"] = system_prompt
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


def _files(documents: Iterable[DocumentSource]) -> Files:
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for document in documents:
        if isinstance(document, tuple):
            name, content = document
            data = content.encode() if isinstance(content, str) else content
        else:
            path = Path(document)
            name, data = path.name, path.read_bytes()
        kind = "text/markdown" if name.lower().endswith((".md", ".markdown")) else "text/plain"
        files.append(("file", (name, data, kind)))
    if not files:
        raise ValueError("add_documents needs at least one document")
    return files


class Agents:
    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    def create(
        self,
        name: str,
        *,
        backend: Backend = "knowledge",
        system_prompt: str | None = None,
        public: bool = False,
        **fields: Unpack[AgentFields],
    ) -> Agent:
        """A native agent. ``openai`` agents need ``base_url`` and ``model``."""
        body = _create_body(name, backend, system_prompt, public, fields)
        return _parse(Agent, self._client.request("POST", _LIST, json=body))

    def list(self, *, provider: str | None = None, limit: int | None = None) -> SyncPage[Agent]:
        """The first page of agents, oldest first; iterate it to walk every page.
        ``provider="convhub"``: native agents only."""
        return self._page(query(provider=provider, limit=limit))

    def _page(self, params: Params) -> SyncPage[Agent]:
        body = _parse(_PageBody, self._client.request("GET", _LIST, params=params))
        return SyncPage(
            data=body.data,
            next_cursor=body.next_cursor,
            has_more=body.has_more,
            fetch=lambda cursor: self._page(_with_cursor(params, cursor)),
        )

    def get(self, agent_id: str) -> Agent:
        return _parse(Agent, self._client.request("GET", _agent_path(agent_id)))

    def update(self, agent_id: str, **fields: Unpack[AgentUpdate]) -> Agent:
        """Change only the fields given; None restores a setting's default."""
        return _parse(Agent, self._client.request("PATCH", _agent_path(agent_id), json=dict(fields)))

    def delete(self, agent_id: str) -> None:
        """Remove the agent and its documents (``ConflictError`` when it has conversations)."""
        self._client.request("DELETE", _agent_path(agent_id))

    def add_documents(self, agent_id: str, documents: Iterable[DocumentSource]) -> builtins.list[Document]:
        """Upload text or markdown documents (paths, or ``(name, content)`` pairs) to a knowledge agent;
        all or none are stored. Returns the documents stored."""
        response = self._client.request("POST", _agent_path(agent_id, "/documents"), files=_files(documents))
        return _parse(_DocumentsBody, response).data

    def list_documents(self, agent_id: str) -> builtins.list[Document]:
        return _parse(_DocumentsBody, self._client.request("GET", _agent_path(agent_id, "/documents"))).data

    def delete_document(self, agent_id: str, document_id: str) -> None:
        self._client.request("DELETE", _agent_path(agent_id, f"/documents/{quote(document_id, safe='')}"))


class AsyncAgents:
    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client

    async def create(
        self,
        name: str,
        *,
        backend: Backend = "knowledge",
        system_prompt: str | None = None,
        public: bool = False,
        **fields: Unpack[AgentFields],
    ) -> Agent:
        """A native agent. ``openai`` agents need ``base_url`` and ``model``."""
        body = _create_body(name, backend, system_prompt, public, fields)
        return _parse(Agent, await self._client.request("POST", _LIST, json=body))

    def list(self, *, provider: str | None = None, limit: int | None = None) -> AsyncPaginator[Agent]:
        """``await`` it for the first page, or ``async for`` over it for every agent."""
        params = query(provider=provider, limit=limit)
        return AsyncPaginator(lambda: self._page(params))

    async def _page(self, params: Params) -> AsyncPage[Agent]:
        body = _parse(_PageBody, await self._client.request("GET", _LIST, params=params))
        return AsyncPage(
            data=body.data,
            next_cursor=body.next_cursor,
            has_more=body.has_more,
            fetch=lambda cursor: self._page(_with_cursor(params, cursor)),
        )

    async def get(self, agent_id: str) -> Agent:
        return _parse(Agent, await self._client.request("GET", _agent_path(agent_id)))

    async def update(self, agent_id: str, **fields: Unpack[AgentUpdate]) -> Agent:
        """Change only the fields given; None restores a setting's default."""
        return _parse(Agent, await self._client.request("PATCH", _agent_path(agent_id), json=dict(fields)))

    async def delete(self, agent_id: str) -> None:
        """Remove the agent and its documents (``ConflictError`` when it has conversations)."""
        await self._client.request("DELETE", _agent_path(agent_id))

    async def add_documents(self, agent_id: str, documents: Iterable[DocumentSource]) -> builtins.list[Document]:
        """Upload text or markdown documents (paths, or ``(name, content)`` pairs) to a knowledge agent;
        all or none are stored. Returns the documents stored."""
        files = _files(documents)
        response = await self._client.request("POST", _agent_path(agent_id, "/documents"), files=files)
        return _parse(_DocumentsBody, response).data

    async def list_documents(self, agent_id: str) -> builtins.list[Document]:
        response = await self._client.request("GET", _agent_path(agent_id, "/documents"))
        return _parse(_DocumentsBody, response).data

    async def delete_document(self, agent_id: str, document_id: str) -> None:
        await self._client.request("DELETE", _agent_path(agent_id, f"/documents/{quote(document_id, safe='')}"))
