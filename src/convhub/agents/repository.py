"""Every SQL statement on agents and their documents, scoped to one workspace by the repository base."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, or_

from convhub.kit.repository import CrossWorkspaceRepository, WorkspaceRepository
from convhub.models import NATIVE, Agent, AgentDocument


class DocumentSummary(NamedTuple):
    id: str
    name: str
    chars: int
    preview: str
    created_at: datetime


class AgentRepository(WorkspaceRepository[Agent]):
    model = Agent

    async def page(self, *, after: str | None, limit: int, provider: str | None = None) -> list[Agent]:
        """Up to ``limit`` agents in id order (ids sort by creation), after the id ``after``."""
        stmt = self.select()
        if provider is not None:
            stmt = stmt.where(Agent.provider == provider)
        return await self.paginate(stmt, keys=[Agent.id.expression], after=None if after is None else [after],
                                   limit=limit)

    async def names(self, agent_ids: Iterable[str]) -> dict[str, str]:
        ids = set(agent_ids)
        if not ids:
            return {}
        stmt = self.select(Agent.id, Agent.name).where(Agent.id.in_(ids))
        return {row.id: row.name for row in await self.session.execute(stmt)}

    async def by_ids(self, agent_ids: Iterable[str]) -> dict[str, Agent]:
        """id → agent, for those of ``agent_ids`` in this workspace."""
        ids = set(agent_ids)
        if not ids:
            return {}
        return {agent.id: agent for agent in await self.get_all(self.select().where(Agent.id.in_(ids)))}

    async def resolve_refs(self, refs: Sequence[str]) -> list[str]:
        """convhub agent ids for refs that are convhub ids or providers' agent ids."""
        stmt = self.select(Agent.id).where(or_(Agent.id.in_(refs), Agent.provider_agent_id.in_(refs)))
        return list((await self.session.execute(stmt)).scalars())

    async def by_provider_ids(self, provider: str, provider_agent_ids: Sequence[str]) -> dict[str, Agent]:
        stmt = self.select().where(Agent.provider == provider, Agent.provider_agent_id.in_(provider_agent_ids))
        return {a.provider_agent_id or "": a for a in await self.get_all(stmt)}

    async def known_provider_ids(self, provider: str) -> set[str]:
        """The provider's agent ids this workspace has agents for."""
        stmt = self.select(Agent.provider_agent_id).where(
            Agent.provider == provider, Agent.provider_agent_id.is_not(None)
        )
        return {str(a) for a in (await self.session.execute(stmt)).scalars()}

    async def existing_ids(self, ids: Sequence[str]) -> set[str]:
        stmt = self.select(Agent.id).where(Agent.id.in_(ids))
        return set((await self.session.execute(stmt)).scalars())

    async def insert(self, agent: Agent) -> None:
        await self.add(agent)

    async def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """Agents as column rows, in one executemany (ingest mirrors a provider's agents this way)."""
        await self.insert_rows(rows)

    async def delete(self, agent_id: str) -> None:
        await self.session.execute(self.delete_where(AgentDocument.agent_id == agent_id, target=AgentDocument))
        await self.session.execute(self.delete_where(Agent.id == agent_id))


class AgentLookup(CrossWorkspaceRepository[Agent]):
    model = Agent

    async def public(self, agent_id: str) -> Agent | None:
        """The native agent ``agent_id`` when it is public, from whichever workspace owns it.

        Across workspaces because a public agent is opened by anyone who knows its id, and the workspace
        comes from the agent.
        """
        stmt = self.select().where(Agent.id == agent_id, Agent.public.is_(True), Agent.provider == NATIVE)
        found: Agent | None = await self.get_one_or_none(stmt)
        return found


class DocumentRepository(WorkspaceRepository[AgentDocument]):
    model = AgentDocument

    async def insert(self, documents: Sequence[AgentDocument]) -> None:
        await self.add(*documents)

    async def of_agent(self, agent_id: str) -> list[AgentDocument]:
        """The agent's documents with their content, oldest first."""
        return await self.get_all(self.select().where(AgentDocument.agent_id == agent_id).order_by(AgentDocument.id))

    async def ids_of_agent(self, agent_id: str) -> list[str]:
        """The agent's document ids, oldest first: enough to tell whether a cached index is current."""
        stmt = self.select(AgentDocument.id).where(AgentDocument.agent_id == agent_id).order_by(AgentDocument.id)
        return list((await self.session.execute(stmt)).scalars())

    async def summaries(self, agent_id: str, preview_chars: int) -> list[DocumentSummary]:
        """The agent's documents, oldest first, with a preview instead of their content."""
        stmt = self.select(
            AgentDocument.id, AgentDocument.name, func.length(AgentDocument.content),
            func.substr(AgentDocument.content, 1, preview_chars), AgentDocument.created_at,
        ).where(AgentDocument.agent_id == agent_id).order_by(AgentDocument.id)
        rows = (await self.session.execute(stmt)).all()
        return [DocumentSummary(id_, name, int(chars), preview, created) for id_, name, chars, preview, created in rows]

    async def counts(self, agent_ids: Sequence[str]) -> dict[str, int]:
        """Documents per agent, for the agents given (agents without any are left out)."""
        if not agent_ids:
            return {}
        stmt = self.select(AgentDocument.agent_id, func.count()).where(
            AgentDocument.agent_id.in_(agent_ids)
        ).group_by(AgentDocument.agent_id)
        return {agent_id: int(n) for agent_id, n in (await self.session.execute(stmt)).all()}

    async def delete(self, agent_id: str, document_id: str) -> bool:
        """Remove one document of the agent; False when there was none."""
        result = await self.session.execute(
            self.delete_where(AgentDocument.id == document_id, AgentDocument.agent_id == agent_id)
        )
        return bool(getattr(result, "rowcount", 0))
