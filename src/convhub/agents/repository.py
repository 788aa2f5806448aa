"""Every SQL statement on agents and their documents, scoped to one workspace by the repository base."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.kit.repository import WorkspaceRepository
from convhub.models import Agent, AgentDocument, Conversation

NATIVE = "convhub"


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
        stmt = self.scoped(select(Agent))
        if after is not None:
            stmt = stmt.where(Agent.id > after)
        if provider is not None:
            stmt = stmt.where(Agent.provider == provider)
        return list((await self.session.execute(stmt.order_by(Agent.id).limit(limit))).scalars())

    async def insert(self, agent: Agent) -> None:
        if agent.workspace_id != self.workspace_id:
            raise ValueError("an agent is inserted by its own workspace's repository")
        self.session.add(agent)
        await self.session.flush([agent])

    async def save(self, agent: Agent) -> None:
        """Write the changes made to an agent this repository loaded."""
        if agent.workspace_id != self.workspace_id:
            raise ValueError("an agent is saved by its own workspace's repository")
        await self.session.flush([agent])

    async def conversation_count(self, agent_id: str) -> int:
        stmt = self.scoped(select(func.count()).select_from(Conversation).where(Conversation.agent_id == agent_id),
                           Conversation)
        return int((await self.session.execute(stmt)).scalar_one())

    async def delete(self, agent_id: str) -> None:
        await self.session.execute(
            delete(AgentDocument).where(AgentDocument.agent_id == agent_id,
                                        AgentDocument.workspace_id == self.workspace_id)
        )
        await self.session.execute(delete(Agent).where(Agent.id == agent_id, Agent.workspace_id == self.workspace_id))


async def find_public_agent(session: AsyncSession, agent_id: str) -> Agent | None:
    """The native agent ``agent_id`` when it is public, from whichever workspace owns it.

    The one agent query without a workspace: a public agent is opened by anyone who knows its id, and
    the workspace comes from the agent.
    """
    stmt = select(Agent).where(Agent.id == agent_id, Agent.public.is_(True), Agent.provider == NATIVE)
    return (await session.execute(stmt)).scalar_one_or_none()


class DocumentRepository(WorkspaceRepository[AgentDocument]):
    model = AgentDocument

    async def insert(self, documents: Sequence[AgentDocument]) -> None:
        if any(d.workspace_id != self.workspace_id for d in documents):
            raise ValueError("documents are inserted by their own workspace's repository")
        self.session.add_all(documents)
        await self.session.flush(list(documents))

    async def of_agent(self, agent_id: str) -> list[AgentDocument]:
        """The agent's documents with their content, oldest first."""
        stmt = self.scoped(select(AgentDocument).where(AgentDocument.agent_id == agent_id))
        return list((await self.session.execute(stmt.order_by(AgentDocument.id))).scalars())

    async def ids_of_agent(self, agent_id: str) -> list[str]:
        """The agent's document ids, oldest first: enough to tell whether a cached index is current."""
        stmt = self.scoped(select(AgentDocument.id).where(AgentDocument.agent_id == agent_id))
        return list((await self.session.execute(stmt.order_by(AgentDocument.id))).scalars())

    async def summaries(self, agent_id: str, preview_chars: int) -> list[DocumentSummary]:
        """The agent's documents, oldest first, with a preview instead of their content."""
        stmt = self.scoped(
            select(AgentDocument.id, AgentDocument.name, func.length(AgentDocument.content),
                   func.substr(AgentDocument.content, 1, preview_chars), AgentDocument.created_at)
            .where(AgentDocument.agent_id == agent_id)
        ).order_by(AgentDocument.id)
        rows = (await self.session.execute(stmt)).all()
        return [DocumentSummary(id_, name, int(chars), preview, created) for id_, name, chars, preview, created in rows]

    async def counts(self, agent_ids: Sequence[str]) -> dict[str, int]:
        """Documents per agent, for the agents given (agents without any are left out)."""
        if not agent_ids:
            return {}
        stmt = self.scoped(
            select(AgentDocument.agent_id, func.count()).where(AgentDocument.agent_id.in_(agent_ids))
        ).group_by(AgentDocument.agent_id)
        return {agent_id: int(n) for agent_id, n in (await self.session.execute(stmt)).all()}

    async def delete(self, agent_id: str, document_id: str) -> bool:
        """Remove one document of the agent; False when there was none."""
        result = await self.session.execute(
            delete(AgentDocument).where(AgentDocument.id == document_id, AgentDocument.agent_id == agent_id,
                                        AgentDocument.workspace_id == self.workspace_id)
        )
        return bool(getattr(result, "rowcount", 0))
