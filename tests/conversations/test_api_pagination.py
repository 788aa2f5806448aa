"""Keyset pagination: rows inserted while a client pages never make it skip or repeat a row."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import httpx
import pytest

from convhub.db import Database
from tests.conftest import ingest_into
from tests.conversations.api_helpers import LIST
from tests.factories import BASE_TIME, make_conversation


@pytest.mark.parametrize(("sort", "order"), [("started_at", "desc"), ("started_at", "asc"), ("duration", "desc")])
async def test_inserts_between_pages_never_skip_or_repeat_a_row(
    authed: httpx.AsyncClient, database: Database, sort: str, order: str
) -> None:
    # Durations repeat, so the duration walk also crosses ties on the sort value.
    originals = [
        make_conversation(started_at=BASE_TIME + timedelta(minutes=10 * i), duration_secs=60 * (i % 4))
        for i in range(20)
    ]
    original_ids = set(await ingest_into(database, "default", originals))
    seen: list[str] = []
    cursor: str | None = None
    for page_number in range(100):
        params: dict[str, str | int] = {"sort": sort, "order": order, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = (await authed.get(LIST, params=params)).json()
        seen.extend(c["id"] for c in body["data"])
        if not body["has_more"]:
            break
        cursor = body["next_cursor"]
        # Between pages, others insert rows on both sides of the position the cursor holds.
        last = body["data"][-1]
        await ingest_into(database, "default", [
            make_conversation(started_at=BASE_TIME - timedelta(days=1, minutes=page_number),
                              duration_secs=last["duration_secs"]),
            make_conversation(started_at=BASE_TIME + timedelta(days=1, minutes=page_number),
                              duration_secs=last["duration_secs"]),
            make_conversation(started_at=last["started_at"], duration_secs=last["duration_secs"]),
        ])
    repeated = [i for i, n in Counter(seen).items() if n > 1]
    assert repeated == []
    assert original_ids <= set(seen)
    assert page_number >= 6  # the walk really crossed inserts


async def test_a_cursor_stays_valid_after_its_last_row_is_deleted(
    authed: httpx.AsyncClient, database: Database
) -> None:
    ids = await ingest_into(database, "default", [make_conversation() for _ in range(5)])
    first = (await authed.get(LIST, params={"limit": 2})).json()
    assert (await authed.delete(f"{LIST}/{first['data'][-1]['id']}")).status_code == 204
    rest = (await authed.get(LIST, params={"limit": 10, "cursor": first["next_cursor"]})).json()
    newest_first = list(reversed(ids))
    assert [c["id"] for c in first["data"] + rest["data"]] == newest_first
