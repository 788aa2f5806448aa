"""kit/repository.py: the base scopes every statement to its workspace, and the suite's check (tests/conftest.py,
tests/tenant_scope.py) fails a statement on a tenant table that is not scoped."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from convhub.agents.repository import AgentRepository
from convhub.conversations.repository import ConversationFilters, ConversationRepository
from convhub.db import Database
from convhub.kit.repository import CrossWorkspaceRepository, unscoped
from convhub.models import Agent, Conversation, Turn, Workspace
from tests.conftest import ingest_into
from tests.factories import make_conversation
from tests.tenant_scope import TENANT_TABLES, TenantGuard, UnscopedStatement, unscoped_tables


async def _workspaces(database: Database) -> dict[str, str]:
    await ingest_into(database, "acme", [make_conversation(provider_conversation_id=f"a{i}") for i in range(3)])
    await ingest_into(database, "other", [make_conversation(provider_conversation_id="b0")])
    async with database.session() as session:
        return {w.name: w.id for w in (await session.execute(select(Workspace))).scalars()}


async def test_a_repository_sees_its_own_workspace_only(database: Database, tenant_guard: TenantGuard) -> None:
    workspaces = await _workspaces(database)
    async with database.session() as session:
        with tenant_guard.strict():
            acme = ConversationRepository(session, workspaces["acme"])
            other = ConversationRepository(session, workspaces["other"])
            assert len(await acme.page(ConversationFilters())) == 3
            assert [c.provider_conversation_id for c in await other.page(ConversationFilters())] == ["b0"]
            assert await other.get_by_ref("a0") is None
            (first, *_) = await acme.page(ConversationFilters(), limit=1)
            assert await other.get(first.id) is None
            await other.set_fields(first.id, title="not theirs")  # touches nothing
    async with database.session() as session:
        assert (await ConversationRepository(session, workspaces["acme"]).get(first.id)).title != "not theirs"  # type: ignore[union-attr]


async def test_a_row_of_another_workspace_is_refused(database: Database) -> None:
    workspaces = await _workspaces(database)
    async with database.session() as session:
        agent = Agent(id="agt_x", workspace_id=workspaces["other"], name="x", provider="convhub", config={})
        with pytest.raises(ValueError, match="written through workspace"):
            await AgentRepository(session, workspaces["acme"]).insert(agent)


async def test_the_check_fails_an_unscoped_select_on_conversations(
    database: Database, tenant_guard: TenantGuard
) -> None:
    await _workspaces(database)
    async with database.session() as session:
        with tenant_guard.strict(), pytest.raises(UnscopedStatement, match="conversations"):
            await session.execute(select(Conversation))


async def test_the_check_fails_a_join_that_leaves_one_table_unscoped(
    database: Database, tenant_guard: TenantGuard
) -> None:
    workspaces = await _workspaces(database)
    async with database.session() as session:
        repo = ConversationRepository(session, workspaces["acme"])
        leaky = repo.select().join(Turn, Turn.conversation_id == Conversation.id)  # turns of any workspace
        with tenant_guard.strict(), pytest.raises(UnscopedStatement, match="turns"):
            await session.execute(leaky)
        with tenant_guard.strict():
            await session.execute(repo.scoped(leaky, Turn))


async def test_the_check_fails_an_unscoped_update(database: Database, tenant_guard: TenantGuard) -> None:
    await _workspaces(database)
    async with database.session() as session:
        with tenant_guard.strict(), pytest.raises(UnscopedStatement, match="conversations"):
            await session.execute(update(Conversation).where(Conversation.provider == "elevenlabs").values(title="x"))


async def test_a_statement_marked_across_workspaces_passes(database: Database, tenant_guard: TenantGuard) -> None:
    await _workspaces(database)

    class Everyone(CrossWorkspaceRepository[Conversation]):
        model = Conversation

    async with database.session() as session:
        with tenant_guard.strict():
            assert len(await Everyone(session).get_all(Everyone(session).select())) == 4
            assert len((await session.execute(unscoped(select(Conversation.id)))).all()) == 4


async def test_the_code_under_test_is_checked_without_asking(database: Database, tenant_guard: TenantGuard) -> None:
    """Outside ``strict``, a statement from convhub's code is checked (and recorded, so a caught error still
    fails the test): a repository made to leak, as a bug in src would."""
    workspaces = await _workspaces(database)

    class Leaky(ConversationRepository):
        def select(self, *entities: object) -> object:  # type: ignore[override]
            return select(*(entities or (Conversation,)))

    async with database.session() as session:
        with pytest.raises(UnscopedStatement):
            # page() is convhub's code: the statement is issued from src, so it is checked.
            await Leaky(session, workspaces["acme"]).page(ConversationFilters())
    assert tenant_guard.violations
    tenant_guard.violations.clear()


def test_every_table_with_a_workspace_column_is_a_tenant_table() -> None:
    assert {"conversations", "turns", "agents", "api_keys", "provider_connections", "webhook_events",
            "sync_runs", "sync_failures", "audit_log"} <= TENANT_TABLES
    assert "workspaces" not in TENANT_TABLES
    assert unscoped_tables(select(Workspace)) == []
