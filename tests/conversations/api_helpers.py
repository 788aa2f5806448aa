"""Helpers for the native API tests: walk pages, read ids, reach the database behind the app."""

from __future__ import annotations

from typing import Any

import httpx

from convhub.auth.service import ensure_workspace
from convhub.conversations.repository import ConversationRepository
from convhub.db import Database

LIST = "/v1/conversations"
Params = dict[str, Any] | list[tuple[str, Any]]


def provider_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["provider_conversation_id"] for c in response.json()["data"]]


async def walk(client: httpx.AsyncClient, params: Params, *, limit: int = 3) -> list[dict[str, Any]]:
    """Every row of a listing, following next_cursor page by page."""
    pairs = list(params.items()) if isinstance(params, dict) else list(params)
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query = [*pairs, ("limit", limit)] + ([("cursor", cursor)] if cursor else [])
        response = await client.get(LIST, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) <= limit
        rows.extend(body["data"])
        assert body["has_more"] == (body["next_cursor"] is not None)
        if not body["has_more"]:
            return rows
        cursor = body["next_cursor"]
    raise AssertionError("pagination did not end")


async def set_fields(database: Database, conversation_id: str, workspace: str = "default", **values: Any) -> None:
    """Set columns the ingest path has no field for (archived, …) straight in the store."""
    async with database.session() as session:
        ws = await ensure_workspace(session, workspace)
        await ConversationRepository(session, ws.id).set_fields(conversation_id, **values)
