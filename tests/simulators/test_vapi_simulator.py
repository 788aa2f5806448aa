"""The Vapi simulator: generated calls, the /call API as Vapi's own SDK expects it, recordings and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from vapi import AsyncVapi, Vapi
from vapi.core.api_error import ApiError
from vapi.types import BotMessage, Call, ToolCallMessage, ToolCallResultMessage

from convhub.simulators.common import SimulatorOptions, SimulatorServer
from convhub.simulators.generate import generate_audio_bytes
from convhub.simulators.vapi import VENDOR

KEY = "sim-key"
START = datetime(2025, 6, 1, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {KEY}"}


def generated(n: int, *, seed: int = 0, span_days: int = 30) -> list[dict[str, Any]]:
    return [VENDOR.generate(i, seed=seed, agents=5, start=START, span_days=span_days) for i in range(n)]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer("vapi", SimulatorOptions(conversations=40, seed=2)) as server:
        server.store.add(12)
        yield server


@pytest.fixture
def own_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer("vapi", SimulatorOptions(conversations=10, seed=4)) as server:
        yield server


# ----------------------------------------------------------------------- generated calls


def test_generation_is_deterministic_and_ids_are_uuids() -> None:
    first, again = generated(30), generated(30)
    assert first == again
    assert generated(30, seed=1) != first
    for call in first:
        assert uuid.UUID(call["id"]).version == 4
        assert uuid.UUID(call["assistantId"])
    assert len({c["id"] for c in first}) == 30


def test_some_calls_share_their_creation_instant() -> None:
    shared = Counter(call["createdAt"] for call in generated(200))
    sizes = [n for n in shared.values() if n > 1]
    assert sizes and min(sizes) >= 2 and max(sizes) <= 5
    assert sum(sizes) > 20


def test_statuses_include_calls_not_over_yet() -> None:
    statuses = Counter(call["status"] for call in generated(300))
    assert {"queued", "ringing", "in-progress", "ended"} <= set(statuses)
    assert statuses["ended"] > 250


def test_calls_follow_vapi_field_shapes() -> None:
    calls = generated(120)
    ended = next(c for c in calls if c["status"] == "ended" and c["type"] == "inboundPhoneCall" and c.get("startedAt"))
    assert ended["endedReason"] and ended["cost"] == ended["costBreakdown"]["total"]
    assert ended["createdAt"].endswith("Z") and ended["createdAt"] <= ended["startedAt"] <= ended["endedAt"]
    assert ended["endedAt"] <= ended["updatedAt"]
    roles = {m["role"] for c in calls for m in c.get("artifact", {}).get("messages", [])}
    assert roles == {"system", "bot", "user", "tool_calls", "tool_call_result"}
    for message in ended["artifact"]["messages"]:
        assert isinstance(message["secondsFromStart"], float | int)
    queued = next(c for c in calls if c["status"] == "queued")
    assert "startedAt" not in queued and "artifact" not in queued and "cost" not in queued
    failed = next(c for c in calls if c.get("endedReason") in ("customer-did-not-answer", "customer-busy"))
    assert "startedAt" not in failed and failed["artifact"]["messages"] == []


def test_forwarded_calls_name_their_destination() -> None:
    forwarded = [c for c in generated(300) if c.get("endedReason") == "assistant-forwarded-call"]
    assert forwarded
    for call in forwarded:
        arguments = [json.loads(m["toolCalls"][0]["function"]["arguments"]) for m in call["artifact"]["messages"]
                     if m["role"] == "tool_calls" and m["toolCalls"][0]["function"]["name"] == "transferCall"]
        assert arguments[-1]["destination"] == call["destination"]["number"]


def test_finish_ends_and_analyses_an_open_call() -> None:
    call = next(c for c in generated(200) if c["status"] in ("in-progress", "queued"))
    now = datetime(2025, 7, 1, tzinfo=UTC)
    done = VENDOR.finish(call, now)
    assert VENDOR.is_final(done) and not VENDOR.is_final(call)
    assert done["id"] == call["id"] and done["createdAt"] == call["createdAt"]
    assert done["startedAt"] < done["endedAt"]
    assert done["analysis"]["summary"] and done["cost"] > 0
    assert done["artifact"]["recordingUrl"].endswith(f"/_recordings/{call['id']}.mp3")
    assert len(done["artifact"]["messages"]) > len(call.get("artifact", {}).get("messages", []))
    assert VENDOR.finish(done, now) is done


def test_recordings_are_binary_paths() -> None:
    assert VENDOR.is_binary("/_recordings/abc.mp3")
    assert not VENDOR.is_binary("/call")


# ----------------------------------------------------------------------- the /call API


def test_every_vapi_route_needs_the_key(sim: SimulatorServer) -> None:
    call_id = sim.store.ordered()[0]["id"]
    with httpx.Client(base_url=sim.url) as client:
        for method, path in (("GET", "/call"), ("GET", f"/call/{call_id}"), ("DELETE", f"/call/{call_id}")):
            assert client.request(method, path).status_code == 401
            assert client.request(method, path, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert call_id in sim.store.by_id


def test_list_is_newest_first_with_vapi_limits(sim: SimulatorServer) -> None:
    with httpx.Client(base_url=sim.url, headers=AUTH) as client:
        everything = client.get("/call").json()
        assert [c["id"] for c in everything] == [c["id"] for c in sim.store.ordered()]  # default limit 100
        assert len(client.get("/call", params={"limit": "5.0"}).json()) == 5
        too_many = client.get("/call", params={"limit": 1001})
        assert too_many.status_code == 400
        assert too_many.json()["message"] == ["limit must not be greater than 1000"]
        assert client.get("/call", params={"createdAtLe": "last tuesday"}).status_code == 400


@pytest.mark.parametrize(("op", "keep"), [
    ("Le", lambda at, t: at <= t), ("Lt", lambda at, t: at < t), ("Ge", lambda at, t: at >= t),
    ("Gt", lambda at, t: at > t),
])
def test_created_at_windows(sim: SimulatorServer, op: str, keep: Any) -> None:
    tied = Counter(c["createdAt"] for c in sim.store.ordered()).most_common(1)[0][0]
    boundary = datetime.fromisoformat(tied)
    expected = [c["id"] for c in sim.store.ordered() if keep(datetime.fromisoformat(c["createdAt"]), boundary)]
    with httpx.Client(base_url=sim.url, headers=AUTH) as client:
        got = client.get("/call", params={f"createdAt{op}": tied, "limit": 1000}).json()
        assert [c["id"] for c in got] == expected
        # A bound with microseconds is honoured exactly (the SDK sends them when the datetime has them).
        later = (boundary + timedelta(microseconds=1)).isoformat()
        exact = client.get("/call", params={f"createdAt{op}": later, "limit": 1000}).json()
        assert [c["id"] for c in exact] == [
            c["id"] for c in sim.store.ordered()
            if keep(datetime.fromisoformat(c["createdAt"]), boundary + timedelta(microseconds=1))
        ]


def test_other_list_filters(sim: SimulatorServer) -> None:
    calls = sim.store.ordered()
    assistant = calls[0]["assistantId"]
    with httpx.Client(base_url=sim.url, headers=AUTH) as client:
        by_assistant = client.get("/call", params={"assistantId": assistant}).json()
        assert [c["id"] for c in by_assistant] == [c["id"] for c in calls if c["assistantId"] == assistant]
        assert [c["id"] for c in client.get("/call", params={"id": calls[3]["id"]}).json()] == [calls[3]["id"]]
        cutoff = sorted(c["updatedAt"] for c in calls)[len(calls) // 2]
        updated = client.get("/call", params={"updatedAtGe": cutoff}).json()
        assert {c["id"] for c in updated} == {
            c["id"] for c in calls if datetime.fromisoformat(c["updatedAt"]) >= datetime.fromisoformat(cutoff)
        }


def test_get_and_unknown_ids(sim: SimulatorServer) -> None:
    call = sim.store.ordered()[5]
    with httpx.Client(base_url=sim.url, headers=AUTH) as client:
        assert client.get(f"/call/{call['id']}").json() == call
        missing = client.get("/call/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["statusCode"] == 404


def test_delete_answers_the_call_then_404(own_sim: SimulatorServer) -> None:
    call = own_sim.store.ordered()[0]
    with httpx.Client(base_url=own_sim.url, headers=AUTH) as client:
        deleted = client.delete(f"/call/{call['id']}")
        assert (deleted.status_code, deleted.json()["id"]) == (200, call["id"])
        assert client.get(f"/call/{call['id']}").status_code == 404
        assert client.delete(f"/call/{call['id']}").status_code == 404
    assert own_sim.store.stats["delete"] == 2 and own_sim.store.stats["detail"] == 1


def test_recordings_are_absolute_and_served(own_sim: SimulatorServer) -> None:
    own_sim.store.add(5)
    own_sim.store.finish_open()
    calls = own_sim.store.ordered()
    with_audio = [c for c in calls if c.get("artifact", {}).get("recordingUrl")]
    assert with_audio
    with httpx.Client(headers=AUTH) as client:
        for call in with_audio:
            url = call["artifact"]["recordingUrl"]
            assert url == f"{own_sim.url}/_recordings/{call['id']}.mp3"
            response = client.get(url)
            assert response.headers["content-type"] == "audio/mpeg"
            seconds = (datetime.fromisoformat(call["endedAt"]) - datetime.fromisoformat(call["startedAt"])).seconds
            assert response.content == generate_audio_bytes(call["id"], seconds=max(1, min(seconds, 120)))
        without = next((c for c in calls if not c.get("artifact", {}).get("recordingUrl")), None)
        if without is not None:
            assert client.get(f"{own_sim.url}/_recordings/{without['id']}.mp3").status_code == 404
    assert own_sim.store.stats["audio"] == len(with_audio) + (without is not None)


def test_control_routes_add_and_finish(own_sim: SimulatorServer) -> None:
    with httpx.Client(base_url=own_sim.url, headers=AUTH) as client:
        added = client.post("/_simulator/add", json={"count": 15}).json()["added"]
        listed = [c["id"] for c in client.get("/call").json()]
        assert set(added) <= set(listed)
        client.post("/_simulator/finish")
        assert {c["status"] for c in client.get("/call").json()} == {"ended"}
        stats = client.get("/_simulator/stats").json()
    assert stats["list"] == 2 and stats["conversations"] == 25


# ----------------------------------------------------------------------- webhooks


def test_webhook_deliveries_are_signed_server_messages() -> None:
    call = next(c for c in generated(60) if c["status"] == "ended" and c.get("startedAt"))
    now = datetime(2025, 7, 1, 12, tzinfo=UTC)
    deliveries = VENDOR.webhook_deliveries(call, "s3cret", now)
    types = []
    for headers, body in deliveries:
        assert headers["x-timestamp"] == str(int(now.timestamp() * 1000))
        expected = hmac.new(b"s3cret", headers["x-timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-signature"], expected)
        message = json.loads(body)["message"]
        assert message["call"]["id"] == call["id"]
        types.append((message["type"], message.get("status")))
    assert types == [("status-update", "in-progress"), ("status-update", "ended"), ("end-of-call-report", None)]
    report = json.loads(deliveries[-1][1])["message"]
    assert report["artifact"] == call["artifact"] and report["analysis"] == call["analysis"]
    assert "artifact" not in report["call"]


def test_open_call_sends_only_its_current_status() -> None:
    call = next(c for c in generated(200) if c["status"] == "ringing")
    deliveries = VENDOR.webhook_deliveries(call, "s3cret", datetime(2025, 7, 1, tzinfo=UTC))
    assert [json.loads(body)["message"]["status"] for _, body in deliveries] == ["ringing"]


# ----------------------------------------------------------------------- Vapi's own SDK

# The SDK's model layer still uses Pydantic v1 spellings; its warnings are not ours to fix.
sdk_warnings = pytest.mark.filterwarnings("ignore::pydantic.PydanticDeprecatedSince20")


@sdk_warnings
def test_official_sdk_lists_gets_and_deletes(own_sim: SimulatorServer) -> None:
    own_sim.store.add(6)
    client = Vapi(base_url=own_sim.url, token=KEY)
    calls = client.calls.list(limit=50)
    assert [c.id for c in calls] == [c["id"] for c in own_sim.store.ordered()]
    assert all(isinstance(c, Call) for c in calls)
    newest = calls[0]
    older = client.calls.list(limit=1000, created_at_lt=newest.created_at)
    assert {c.id for c in older} == {c.id for c in calls if c.created_at < newest.created_at}

    ended = next(c for c in calls if c.status == "ended" and c.artifact and c.artifact.messages)
    fetched = client.calls.get(ended.id)
    assert fetched.id == ended.id and fetched.ended_reason == ended.ended_reason
    assert fetched.created_at == datetime.fromisoformat(own_sim.store.get(ended.id)["createdAt"])  # type: ignore[index]
    assert fetched.artifact is not None and fetched.artifact.messages
    kinds = {type(m) for m in fetched.artifact.messages}
    assert BotMessage in kinds
    if any(m["role"] == "tool_calls" for m in own_sim.store.get(ended.id)["artifact"]["messages"]):  # type: ignore[index]
        assert {ToolCallMessage, ToolCallResultMessage} & kinds

    deleted = client.calls.delete(ended.id)
    assert deleted.id == ended.id
    with pytest.raises(ApiError) as gone:
        client.calls.get(ended.id)
    assert gone.value.status_code == 404
    with pytest.raises(ApiError) as denied:
        Vapi(base_url=own_sim.url, token="wrong").calls.list()
    assert denied.value.status_code == 401


@sdk_warnings
async def test_official_async_sdk_lists_and_gets(sim: SimulatorServer) -> None:
    client = AsyncVapi(base_url=sim.url, token=KEY)
    calls = await client.calls.list(limit=10)
    assert [c.id for c in calls] == [c["id"] for c in sim.store.ordered()[:10]]
    detail = await client.calls.get(calls[0].id)
    assert detail.id == calls[0].id and detail.status == calls[0].status
