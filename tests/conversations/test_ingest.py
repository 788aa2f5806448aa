"""The one ingest path: idempotent, replaces newer versions, never moves backwards, keeps raw."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from convhub.auth.service import ensure_workspace
from convhub.conversations.ingest import ingest, ingest_many
from convhub.conversations.schemas import IngestOutcome
from convhub.conversations.service import get_conversation, get_turns
from convhub.db import Database
from convhub.models import Agent, Conversation, DataCollectionValue, ToolUsage, Turn
from tests.factories import BASE_TIME, make_conversation, make_turns, revise


async def _count(database: Database, model: type) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_reingest_same_conversation_changes_nothing(database: Database) -> None:
    conv = make_conversation(raw={"vendor_field": {"nested": [1, 2]}})
    async with database.session() as session:
        ws = await ensure_workspace(session, "acme")
        first = await ingest(session, ws.id, conv)
    async with database.session() as session:
        row = await get_conversation(session, ws.id, first.conversation_id)
        updated_at = row.updated_at
        again = await ingest(session, ws.id, conv)
    assert first.outcome is IngestOutcome.created
    assert again.outcome is IngestOutcome.unchanged
    assert again.conversation_id == first.conversation_id
    assert await _count(database, Conversation) == 1
    assert await _count(database, Turn) == 4
    async with database.session() as session:
        row = await get_conversation(session, ws.id, conv.provider_conversation_id)
        assert row.updated_at == updated_at
        assert row.raw == {"vendor_field": {"nested": [1, 2]}}


async def test_newer_version_replaces_turns_and_keeps_local_metadata(database: Database) -> None:
    conv = make_conversation(status="in-progress", metadata={"crm_id": "42"})
    async with database.session() as session:
        ws = await ensure_workspace(session, "acme")
        created = await ingest(session, ws.id, conv)
    newer = revise(conv, **{
        "status": "done",
        "metadata": {"source": "sync"},
        "turns": make_turns("Hi", "Bye"),
        "source_updated_at": BASE_TIME + timedelta(hours=1),
    })
    async with database.session() as session:
        result = await ingest(session, ws.id, newer)
    assert result.outcome is IngestOutcome.updated
    assert result.conversation_id == created.conversation_id
    async with database.session() as session:
        row = await get_conversation(session, ws.id, created.conversation_id)
        turns = await get_turns(session, row)
    assert row.status == "done"
    assert row.message_count == 2
    assert [t.message for t in turns] == ["Hi", "Bye"]
    assert row.custom_metadata == {"crm_id": "42", "source": "sync"}


async def test_older_version_never_moves_a_conversation_backwards(database: Database) -> None:
    new = make_conversation(status="done", source_updated_at=BASE_TIME + timedelta(hours=2))
    old = revise(new, status="in-progress", source_updated_at=BASE_TIME)
    async with database.session() as session:
        ws = await ensure_workspace(session, "acme")
        await ingest(session, ws.id, new)
        result = await ingest(session, ws.id, old)
        row = await get_conversation(session, ws.id, new.provider_conversation_id)
    assert result.outcome is IngestOutcome.unchanged
    assert row.status == "done"


async def test_bulk_ingest_creates_agents_once_and_side_tables(database: Database) -> None:
    tool_turns = make_turns("Let me check", "ok")
    tool_turns[0].tool_calls = [{"tool_name": "lookup_order", "request_id": "r1", "params_as_json": "{}",
                                 "tool_has_been_called": True}]
    convs = [make_conversation(turns=tool_turns) for _ in range(50)]
    convs.append(convs[0])  # a duplicate inside one batch is recognised
    async with database.session() as session:
        ws = await ensure_workspace(session, "acme")
        results = await ingest_many(session, ws.id, convs)
    assert [r.outcome for r in results].count(IngestOutcome.created) == 50
    assert results[-1].conversation_id == results[0].conversation_id
    assert await _count(database, Agent) == 1
    assert await _count(database, Conversation) == 50
    assert await _count(database, ToolUsage) == 50
    assert await _count(database, DataCollectionValue) == 50


async def test_workspaces_do_not_share_conversations(database: Database) -> None:
    conv = make_conversation()
    async with database.session() as session:
        a = await ensure_workspace(session, "a")
        b = await ensure_workspace(session, "b")
        ra = await ingest(session, a.id, conv)
        rb = await ingest(session, b.id, conv)
    assert ra.outcome is rb.outcome is IngestOutcome.created
    assert ra.conversation_id != rb.conversation_id
    assert await _count(database, Agent) == 2


async def test_search_index_follows_reingest_and_delete(database: Database) -> None:
    from convhub.conversations.repository import ConversationFilters, ConversationRepository

    conv = make_conversation(turns=make_turns("my parcel never arrived", "let me track it"))
    async with database.session() as session:
        ws = await ensure_workspace(session, "acme")
        created = await ingest(session, ws.id, conv)

    async def found(word: str) -> list[str]:
        async with database.session() as session:
            rows = await ConversationRepository(session, ws.id).page(ConversationFilters(search=word))
        return [r.id for r in rows]

    assert await found("parcel") == [created.conversation_id]
    newer = revise(conv, turns=make_turns("the invoice is wrong", "I will correct the invoice"))
    async with database.session() as session:
        await ingest(session, ws.id, newer)
    assert await found("parcel") == []
    assert await found("invoice") == [created.conversation_id]
    async with database.session() as session:
        await ConversationRepository(session, ws.id).delete(created.conversation_id)
    assert await found("invoice") == []
