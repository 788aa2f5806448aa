"""GET /v1/conversations: every filter returns exactly the right rows, every sort orders them, pages walk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from convhub.auth.service import ensure_workspace
from convhub.conversations import service
from convhub.conversations.schemas import AgentRef, ConversationIn
from convhub.db import Database
from tests.conftest import ingest_into
from tests.conversations.api_helpers import LIST, provider_ids, set_fields, walk
from tests.factories import BASE_TIME as T
from tests.factories import attach_audio, make_conversation, make_turns

H = timedelta(hours=1)


def _agent(ref: str) -> AgentRef:
    return AgentRef(provider_agent_id=ref, name=ref.title())


DATA: dict[str, dict[str, Any]] = {
    "a": dict(provider="elevenlabs", agent=_agent("el_support"), status="done", channel="phone",
              direction="inbound", entity_type="USER", user_id="u1", customer_number="+14155550100",
              started_at=T, duration_secs=30, rating=5, call_successful="success",
              metadata={"team": "billing", "vip": True, "tier": 2}, turns=make_turns("I want a refund", "Sure")),
    "b": dict(provider="elevenlabs", agent=_agent("el_sales"), status="failed", channel="web",
              direction="outbound", entity_type="LEAD", user_id="u2", customer_number="+442071838750",
              started_at=T + H, duration_secs=120, rating=1, call_successful="failure",
              metadata={"team": "sales", "vip": False}, turns=make_turns("Book an appointment please")),
    "c": dict(provider="retell", agent=_agent("rt_support"), status="in-progress", channel="phone",
              direction="inbound", entity_type="USER", user_id=None, customer_number="+14155550100",
              started_at=T + 2 * H, duration_secs=120, rating=None, call_successful="unknown",
              metadata={"team": "billing"}, turns=make_turns("Where is my invoice?")),
    "d": dict(provider="retell", agent=_agent("rt_support"), status="done", channel="chat",
              direction=None, entity_type="USER", user_id="u1", customer_number=None,
              started_at=T + 3 * H, duration_secs=600, rating=3, call_successful="success",
              metadata={}, turns=make_turns("An invoice and a refund", "Done")),
    "e": dict(provider="vapi", agent=_agent("vp_agent"), status="initiated", channel="whatsapp",
              direction="outbound", entity_type="LEAD", user_id="u3", customer_number="+14155550199",
              started_at=T + 4 * H, duration_secs=0, rating=4, call_successful="failure",
              metadata={"tier": 2}, turns=[]),
    "f": dict(provider="elevenlabs", agent=_agent("el_support"), status="done", channel="phone",
              direction="inbound", entity_type="USER", user_id="u2", customer_number="+14155550100",
              started_at=T - 24 * H, duration_secs=45, rating=2, call_successful="success",
              metadata={"team": "billing", "a.b[0]": "dotted"}, turns=make_turns("hello there")),
}
ARCHIVED = {"d"}
WITH_AUDIO = {"a", "c"}

Predicate = Callable[[str, ConversationIn], bool]


@pytest.fixture
async def dataset(database: Database, app: Any) -> dict[str, str]:
    """name → convhub id of the conversations above, in workspace "default"."""
    convs = [make_conversation(provider_conversation_id=name, **fields) for name, fields in DATA.items()]
    ids = dict(zip(DATA, await ingest_into(database, "default", convs), strict=True))
    for name in ARCHIVED:
        await set_fields(database, ids[name], archived=True)
    async with database.session() as session:
        ws = await ensure_workspace(session, "default")
        for name in WITH_AUDIO:
            conv = await service.get_conversation(session, ws.id, ids[name])
            await attach_audio(session, conv, app.state.blobs, b"ID3 fake mp3 " + name.encode())
    return ids


def _between(low: int | None, high: int | None, value: int | None) -> bool:
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


CASES: list[tuple[list[tuple[str, Any]], Predicate]] = [
    ([("provider", "retell")], lambda n, c: c.provider == "retell"),
    ([("status", "in-progress")], lambda n, c: c.status == "in-progress"),
    ([("status", "done")], lambda n, c: c.status == "done"),
    ([("channel", "phone")], lambda n, c: c.channel == "phone"),
    ([("direction", "outbound")], lambda n, c: c.direction == "outbound"),
    ([("entity_type", "LEAD")], lambda n, c: c.entity_type == "LEAD"),
    ([("user_id", "u1")], lambda n, c: c.user_id == "u1"),
    ([("customer", "+1 (415) 555-0100")], lambda n, c: c.customer_number == "+14155550100"),
    ([("customer", "+14155550199")], lambda n, c: c.customer_number == "+14155550199"),
    ([("started_after", (T + H).isoformat())], lambda n, c: c.started_at >= T + H),
    ([("started_before", (T + H).isoformat())], lambda n, c: c.started_at <= T + H),
    ([("started_after", str(int((T + 2 * H).timestamp())))], lambda n, c: c.started_at >= T + 2 * H),
    ([("started_after", "2026-10-01T14:00:00+02:00")], lambda n, c: c.started_at >= T + 3 * H),
    ([("started_after", "2026-10-01T10:00:00Z"), ("started_before", "2026-10-01T12:00:00")],
     lambda n, c: T + H <= c.started_at <= T + 3 * H),
    ([("duration_min", 100)], lambda n, c: c.duration_secs >= 100),
    ([("duration_max", 45)], lambda n, c: c.duration_secs <= 45),
    ([("duration_min", 30), ("duration_max", 120)], lambda n, c: 30 <= c.duration_secs <= 120),
    ([("rating_min", 3)], lambda n, c: _between(3, None, c.rating)),
    ([("rating_max", 2)], lambda n, c: _between(None, 2, c.rating)),
    ([("rating_min", 2), ("rating_max", 4)], lambda n, c: _between(2, 4, c.rating)),
    ([("call_successful", "failure")], lambda n, c: c.call_successful == "failure"),
    ([("has_audio", "true")], lambda n, c: n in WITH_AUDIO),
    ([("has_audio", "false")], lambda n, c: n not in WITH_AUDIO),
    ([("archived", "true")], lambda n, c: n in ARCHIVED),
    ([("archived", "false")], lambda n, c: n not in ARCHIVED),
    ([("metadata", "team=billing")], lambda n, c: c.metadata.get("team") == "billing"),
    ([("metadata", "team=billing"), ("metadata", "vip=true")],
     lambda n, c: c.metadata.get("team") == "billing" and c.metadata.get("vip") is True),
    ([("metadata", "vip=false")], lambda n, c: c.metadata.get("vip") is False),
    ([("metadata", "tier=2")], lambda n, c: c.metadata.get("tier") == 2),
    ([("metadata", "a.b[0]=dotted")], lambda n, c: "a.b[0]" in c.metadata),
    ([("q", "refund")], lambda n, c: n in {"a", "d"}),
    ([("q", "Refunds")], lambda n, c: n in {"a", "d"}),
    ([("q", "invoice")], lambda n, c: n in {"c", "d"}),
    ([("q", "refund invoice")], lambda n, c: n == "d"),
    ([("agent_id", "el_support")], lambda n, c: c.agent.provider_agent_id == "el_support"),
    ([("agent_id", "el_support"), ("agent_id", "rt_support")],
     lambda n, c: c.agent.provider_agent_id in {"el_support", "rt_support"}),
    ([("provider", "elevenlabs"), ("status", "done")], lambda n, c: c.provider == "elevenlabs" and c.status == "done"),
]


async def test_every_filter_returns_exactly_the_matching_rows(
    authed: httpx.AsyncClient, dataset: dict[str, str]
) -> None:
    convs = {n: make_conversation(provider_conversation_id=n, **f) for n, f in DATA.items()}
    for params, predicate in CASES:
        expected = {n for n, c in convs.items() if predicate(n, c)}
        assert expected and expected != set(DATA), f"case {params} does not discriminate"
        got = provider_ids(await authed.get(LIST, params=params))
        assert sorted(got) == sorted(expected), params


async def test_filters_that_match_nothing(authed: httpx.AsyncClient, dataset: dict[str, str]) -> None:
    cases: list[list[tuple[str, Any]]] = [
        [("agent_id", "no_such_agent")],
        [("customer", "(415) 555-0100")],  # no country code: compared as given, and stored numbers are E.164
        [("user_id", "U1")],
        [("metadata", "team=Billing")],
        [("metadata", "missing=x")],
        [("q", "zebra")],
        [("q", "' OR 1=1; DROP TABLE conversations; --")],
        [("q", "%_*\"')(")],
        [("status", "done"), ("channel", "web")],
        [("started_after", "9999-12-31T23:59:59Z")],
        [("started_before", "0001-01-01")],
        [("duration_min", 2**31 - 1)],
        [("agent_id", f"agent_{i}") for i in range(100)],
    ]
    for params in cases:
        assert provider_ids(await authed.get(LIST, params=params)) == [], params


async def test_agent_filter_takes_convhub_agent_ids_too(authed: httpx.AsyncClient, dataset: dict[str, str]) -> None:
    detail = (await authed.get(f"{LIST}/{dataset['e']}")).json()
    assert detail["agent_name"] == "Vp_Agent"
    assert provider_ids(await authed.get(LIST, params={"agent_id": detail["agent_id"]})) == ["e"]


async def test_default_is_newest_first_with_every_field(authed: httpx.AsyncClient, dataset: dict[str, str]) -> None:
    body = (await authed.get(LIST)).json()
    assert [c["provider_conversation_id"] for c in body["data"]] == ["e", "d", "c", "b", "a", "f"]
    assert body == {**body, "next_cursor": None, "has_more": False}
    a = next(c for c in body["data"] if c["provider_conversation_id"] == "a")
    assert a["id"] == dataset["a"]
    assert a["metadata"] == {"team": "billing", "vip": True, "tier": 2}
    assert a["has_audio"] is True and a["archived"] is False
    assert a["started_at"].startswith("2026-10-01T09:00:00")
    assert a["message_count"] == 2 and a["agent_name"] == "El_Support"


@pytest.mark.parametrize("sort", ["started_at", "duration", "rating"])
async def test_sorts_walk_every_row_in_order(authed: httpx.AsyncClient, dataset: dict[str, str], sort: str) -> None:
    def key(name: str) -> tuple[Any, str]:
        fields = DATA[name]
        value = {"started_at": fields["started_at"], "duration": fields["duration_secs"],
                 "rating": fields["rating"] or 0}[sort]
        return value, dataset[name]  # ties broken by id, the keyset's second column

    for order in ("asc", "desc"):
        expected = sorted(DATA, key=key, reverse=order == "desc")
        rows = await walk(authed, {"sort": sort, "order": order}, limit=2)
        assert [r["provider_conversation_id"] for r in rows] == expected, (sort, order)


async def test_pagination_walk_with_filters_and_page_sizes(authed: httpx.AsyncClient, dataset: dict[str, str]) -> None:
    everything = [r["provider_conversation_id"] for r in await walk(authed, {}, limit=100)]
    assert everything == ["e", "d", "c", "b", "a", "f"]
    for limit in (1, 2, 5, 6):
        assert [r["provider_conversation_id"] for r in await walk(authed, {}, limit=limit)] == everything
    filtered = await walk(authed, {"provider": "elevenlabs", "order": "asc"}, limit=1)
    assert [r["provider_conversation_id"] for r in filtered] == ["f", "a", "b"]


async def test_limit_caps_the_page_and_defaults_to_30(authed: httpx.AsyncClient, database: Database) -> None:
    await ingest_into(database, "default", [make_conversation() for _ in range(31)])
    body = (await authed.get(LIST)).json()
    assert len(body["data"]) == 30 and body["has_more"] is True
    assert len((await authed.get(LIST, params={"limit": 100})).json()["data"]) == 31
