"""Finding a conversation by reference (convhub's id or the provider's): the right one, in its workspace only,
by index searches, never by a pass over the workspace (every message sent to a chat makes this lookup)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import Select

from convhub.conversations.repository import ConversationRepository
from convhub.db import Database
from convhub.models import Workspace
from tests.conftest import ingest_into
from tests.factories import make_conversation


async def test_by_id_or_provider_id_and_only_in_its_workspace(database: Database) -> None:
    vapi_id, retell_id = await ingest_into(database, "acme", [
        make_conversation(provider="vapi", provider_conversation_id="call_1"),
        make_conversation(provider="retell", provider_conversation_id="call_2"),
    ])
    await ingest_into(database, "other", [make_conversation(provider="vapi", provider_conversation_id="call_3")])
    async with database.session() as session:
        workspaces = {w.name: w.id for w in (await session.execute(select(Workspace))).scalars()}
        acme = ConversationRepository(session, workspaces["acme"])
        other = ConversationRepository(session, workspaces["other"])

        assert (await acme.get_by_ref(vapi_id)).id == vapi_id  # type: ignore[union-attr]
        assert (await acme.get_by_ref("call_1")).id == vapi_id  # type: ignore[union-attr]
        assert (await acme.get_by_ref("call_2", provider="retell")).id == retell_id  # type: ignore[union-attr]
        assert await acme.get_by_ref("call_2", provider="vapi") is None
        assert await acme.get_by_ref("call_3") is None  # another workspace's, by the provider's id
        assert await other.get_by_ref(vapi_id) is None  # and by convhub's
        assert await other.get_by_ref("call_1") is None
        assert await acme.get_by_ref("nothing") is None


def _plan(database: Database, stmt: Select[Any]) -> tuple[str, tuple[Any, ...]]:
    compiled = stmt.compile(dialect=database.engine.dialect, compile_kwargs={"render_postcompile": True})
    return f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params[name] for name in compiled.positiontup or ())


def _lookups(repo: ConversationRepository, ref: str) -> list[Select[Any]]:
    """The statements of ``get_by_ref`` (any provider's id, one provider's) and of ``get_with_agent``."""
    return [
        repo.by_ref_statement(ref),
        repo.by_ref_statement(ref, provider="vapi"),
        repo.with_agent_statement(ref),
    ]


async def test_the_lookup_searches_indexes_instead_of_walking_the_workspace(database: Database) -> None:
    (ref, *_) = await ingest_into(database, "acme", [make_conversation() for _ in range(300)])
    async with database.session() as session:
        conn = await session.connection()
        workspace_id = (await session.execute(select(Workspace.id).where(Workspace.name == "acme"))).scalar_one()
        if not database.is_sqlite:
            await conn.exec_driver_sql("ANALYZE conversations")  # the planner's figures, as a live database has them
        for stmt in _lookups(ConversationRepository(session, workspace_id), ref):
            if database.is_sqlite:
                query, params = _plan(database, stmt)
                steps = [row[3] for row in await conn.exec_driver_sql(query, params)]
                on_conversations = [s for s in steps if " conversations " in f"{s} "]
                # Each step on the table is a search by the id or by the provider's id, none by the workspace alone.
                for step in on_conversations:
                    assert step.startswith("SEARCH"), steps
                    assert "(id=?)" in step or "provider_conversation_id=?" in step, steps
            else:
                on_conversations = _postgres_scans(await conn.exec_driver_sql(f"EXPLAIN {_literal(database, stmt)}"))
                # Each scan of the table finds its rows by the id or the provider's id in an index (a bitmap of
                # both is fine): no sequential scan, and no index range over the workspace filtered afterwards.
                for scan in on_conversations:
                    assert not scan[0].startswith("Seq Scan"), on_conversations
                    assert any("Index Cond" in line and ("(id)" in line or "provider_conversation_id" in line)
                               for line in scan), on_conversations
            assert on_conversations


def _literal(database: Database, stmt: Select[Any]) -> str:
    return str(stmt.compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True}))


def _postgres_scans(rows: Any) -> list[list[str]]:
    """Each scan of the conversations table in PostgreSQL's plan: its line, its conditions, and (for a bitmap
    heap scan) the bitmap index scans under it with theirs. Other tables' nodes are not part of any."""
    scans: list[list[str]] = []
    current: list[str] | None = None
    for (line,) in rows:
        text_ = line.strip().removeprefix("->  ")
        if line.lstrip().startswith("->") or not line.startswith(" "):  # a node, not a node's condition
            if "Scan" in text_ and text_.split(" (cost")[0].rstrip().endswith((" on conversations", " conversations_1",
                                                                     " conversations_2")):
                current = [text_]
                scans.append(current)
            elif current is not None and text_.startswith(("Bitmap Index Scan", "BitmapOr", "BitmapAnd")):
                current.append(text_)
            else:
                current = None
        elif current is not None:
            current.append(text_)
    return scans
