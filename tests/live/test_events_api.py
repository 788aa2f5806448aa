"""``GET /v1/events`` through a real server: live frames, filters, resume, tenants, heartbeats, disconnects."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from convhub.db import Database
from convhub.live import endpoints
from tests.conftest import LiveServer, make_key
from tests.live.conftest import eventually, open_events, publish, workspace_id

CONV_A = "conv_01aaaaaaaaaaaaaaaaaaaaaaaa"
CONV_B = "conv_01bbbbbbbbbbbbbbbbbbbbbbbb"


async def test_a_connected_client_gets_each_event_as_an_sse_frame(live_server: LiveServer) -> None:
    key, ws = live_server.key("acme"), workspace_id(live_server, "acme")
    async with open_events(live_server.url, key) as stream:
        event = publish(live_server, ws, "turn.added", {"role": "user", "text": "hello"}, conversation_id=CONV_A)
        frame = await stream.next()
    assert frame.id == event.id and frame.event == "turn.added"
    body = frame.json()
    assert body["id"] == event.id and body["type"] == "turn.added" and body["conversation_id"] == CONV_A
    assert body["data"] == {"role": "user", "text": "hello"}
    assert body["at"].startswith(event.at.isoformat()[:19])


async def test_filters_by_conversation_and_repeatable_type(live_server: LiveServer) -> None:
    key, ws = live_server.key("acme"), workspace_id(live_server, "acme")
    params = [("conversation_id", CONV_A), ("type", "conversation.takeover"), ("type", "conversation.release")]
    async with open_events(live_server.url, key, params=params) as stream:
        publish(live_server, ws, "turn.added", {}, conversation_id=CONV_A)
        publish(live_server, ws, "conversation.takeover", {}, conversation_id=CONV_B)
        takeover = publish(live_server, ws, "conversation.takeover", {}, conversation_id=CONV_A)
        publish(live_server, ws, "sync.progress", {})
        release = publish(live_server, ws, "conversation.release", {}, conversation_id=CONV_A)
        frames = await stream.take(2)
        assert [(f.event, f.id) for f in frames] == [("conversation.takeover", takeover.id),
                                                     ("conversation.release", release.id)]
        assert await stream.quiet_for(0.3)


@pytest.mark.parametrize("how", ["header", "query"])
async def test_reconnecting_with_the_last_event_id_resumes_exactly_after_it(live_server: LiveServer, how: str) -> None:
    key, ws = live_server.key("acme"), workspace_id(live_server, "acme")
    async with open_events(live_server.url, key) as stream:
        seen = [publish(live_server, ws, "turn.added", {"n": n}) for n in range(2)]
        last = (await stream.take(2))[-1].id
    assert last == seen[-1].id
    missed = [publish(live_server, ws, "turn.added", {"n": n}) for n in range(2, 5)]
    resume = {"headers": {"Last-Event-ID": last}} if how == "header" else {"params": {"last_event_id": last}}
    async with open_events(live_server.url, key, **resume) as stream:
        assert [f.id for f in await stream.take(3)] == [e.id for e in missed]
        live = publish(live_server, ws, "turn.added", {"n": 5})
        assert (await stream.next()).id == live.id
        assert await stream.quiet_for(0.3)


async def test_the_last_event_id_header_wins_over_a_stale_parameter(live_server: LiveServer) -> None:
    key, ws = live_server.key("acme"), workspace_id(live_server, "acme")
    sent = [publish(live_server, ws, "turn.added", {"n": n}) for n in range(4)]
    async with open_events(live_server.url, key, params={"last_event_id": sent[0].id},
                           headers={"Last-Event-ID": sent[2].id}) as stream:
        assert (await stream.next()).id == sent[3].id
        assert await stream.quiet_for(0.3)


async def test_a_workspace_never_sees_another_workspaces_events(live_server: LiveServer) -> None:
    acme_key, acme = live_server.key("acme"), workspace_id(live_server, "acme")
    globex = workspace_id(live_server, "globex")
    theirs = publish(live_server, globex, "turn.added", {"secret": "globex"})
    async with open_events(live_server.url, acme_key, headers={"Last-Event-ID": "0-0"}) as stream:
        publish(live_server, globex, "turn.added", {"secret": "globex again"})
        ours = publish(live_server, acme, "turn.added", {"text": "acme"})
        assert (await stream.next()).id == ours.id
        assert await stream.quiet_for(0.3)
    # Knowing another workspace's event id replays nothing of theirs either.
    async with open_events(live_server.url, acme_key, headers={"Last-Event-ID": theirs.id}) as stream:
        assert (await stream.next()).id == ours.id
        assert await stream.quiet_for(0.3)


async def test_an_idle_stream_carries_heartbeat_comments(live_server: LiveServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoints, "HEARTBEAT_SECS", 0.2)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=5) as client, client.stream(
        "GET", "/v1/events", headers={"xi-api-key": live_server.key("acme")}
    ) as response:
        async with asyncio.timeout(3):
            lines = response.aiter_lines()
            while await anext(lines) != ": keep-alive":
                pass


async def test_the_server_lets_go_of_a_client_that_disconnects(live_server: LiveServer) -> None:
    key, ws = live_server.key("acme"), workspace_id(live_server, "acme")
    bus = live_server.app.state.events
    async with open_events(live_server.url, key) as stream:
        publish(live_server, ws, "turn.added", {})
        await stream.next()
        assert bus.subscriber_count(ws) == 1
    assert await eventually(lambda: bus.subscriber_count(ws) == 0)


@pytest.mark.parametrize(("params", "headers", "loc"), [
    ({"type": "turn.addded"}, {}, ["query", "type", 0]),
    ({"conversation_id": "not-a-conversation"}, {}, ["query", "conversation_id"]),
    ({"last_event_id": "yesterday"}, {}, ["query", "last_event_id"]),
    ({}, {"Last-Event-ID": "abc"}, ["header", "Last-Event-ID"]),
])
async def test_bad_filters_are_422(authed: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str],
                                   loc: list[str | int]) -> None:
    response = await authed.get("/v1/events", params=params, headers=headers)
    assert response.status_code == 422
    assert [issue["loc"] for issue in response.json()["detail"]] == [loc]


async def test_events_need_the_conversations_read_scope(client: httpx.AsyncClient, database: Database) -> None:
    response = await client.get("/v1/events", headers={"xi-api-key": await make_key(database, scopes="sync")})
    assert response.status_code == 403
    assert "conversations:read" in response.json()["detail"]["message"]
    assert (await client.get("/v1/events")).status_code == 401


async def test_the_stream_is_documented(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/v1/events"]["get"]
    assert operation["tags"] == ["live"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert {"conversation_id", "type", "last_event_id", "Last-Event-ID"} <= set(params)
