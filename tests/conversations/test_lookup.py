"""Finding a conversation by reference (convhub's id or the provider's): the right one, in its workspace only,
by index searches, never by a pass over the workspace (every message sent to a chat makes this lookup)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.sql import Select

from convhub.conversations.repository import ConversationRepository, matching_ref
from convhub.db import Database
from convhub.kit.repository import WORKSPACE_PARAM
from convhub.messages.repository import _CONVERSATION_WITH_AGENT
from convhub.models import Conversation, Workspace
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


async def test_the_lookup_searches_indexes_instead_of_walking_the_workspace(database: Database) -> None:
    if not database.is_sqlite:
        return  # the plan checked is SQLite's, the planner that chose the walk
    await ingest_into(database, "acme", [make_conversation() for _ in range(30)])
    statements = [
        select(Conversation).where(matching_ref("x", "ws_x")).limit(1),
        select(Conversation).where(matching_ref("x", "ws_x", provider="vapi")).limit(1),
        _CONVERSATION_WITH_AGENT.params(p_ref="x", **{WORKSPACE_PARAM: "ws_x"}),
    ]
    async with database.session() as session:
        for stmt in statements:
            query, params = _plan(database, stmt)
            steps = [row[3] for row in await (await session.connection()).exec_driver_sql(query, params)]
            on_conversations = [s for s in steps if " conversations " in f"{s} "]
            assert on_conversations, steps
            # Each step on the table is a search by the id or by the provider's id, none by the workspace alone.
            for step in on_conversations:
                assert step.startswith("SEARCH"), steps
                assert "(id=?)" in step or "provider_conversation_id=?" in step, steps
