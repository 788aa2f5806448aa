"""The Retell simulator: generated calls, the API the official retell-sdk uses, recordings and signed webhooks."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
import retell
from retell import AsyncRetell, Retell
from retell.lib import webhook_auth
from starlette.datastructures import Headers

from convhub.providers.base import WebhookRejected
from convhub.providers.retell.mapper import conversation_from_retell
from convhub.providers.retell.webhooks import merge, parse, verify
from convhub.simulators.common import SimulatorOptions, SimulatorServer
from convhub.simulators.generate import generate_audio_bytes
from convhub.simulators.retell import TRANSCRIPT_FIELDS, VENDOR

# The official SDK's own verifier (untyped), to check that the signatures interoperate.
sdk_verify: Callable[[str, str, str], bool] = webhook_auth.verify

KEY = "sim-key"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer("retell", SimulatorOptions(conversations=90, seed=5)) as server:
        yield server


def recent(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Calls generated as if they were happening now (so some are still open)."""
    return [VENDOR.generate(i, seed=seed, agents=5, start=NOW, span_days=0) for i in range(n)]


def list_calls(sim: SimulatorServer, body: dict[str, Any], key: str = KEY) -> httpx.Response:
    return httpx.post(f"{sim.url}/v3/list-calls", json=body, headers={"Authorization": f"Bearer {key}"})


# ------------------------------------------------------------------ generation


def test_generation_is_deterministic_with_retell_ids() -> None:
    calls = recent(200)
    assert calls == recent(200)
    assert recent(5, seed=1) != calls[:5]
    ids = [c["call_id"] for c in calls]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"call_[0-9a-f]{32}", cid) for cid in ids)
    assert all(re.fullmatch(r"agent_[0-9a-f]{26}", c["agent_id"]) for c in calls)


def test_statuses_include_open_and_unanalysed_calls() -> None:
    kinds = Counter(
        "analysed" if c.get("call_analysis") else c["call_status"] for c in recent(300)
    )
    assert {"registered", "ongoing", "ended", "analysed", "error", "not_connected"} <= set(kinds)
    assert kinds["analysed"] > 200
    assert sum(1 for c in recent(300) if not VENDOR.is_final(c)) >= 10


def test_every_generated_call_maps_and_finishing_makes_it_final() -> None:
    for call in recent(300):
        conv = conversation_from_retell(call)
        assert conv.provider_conversation_id == call["call_id"]
        finished = VENDOR.finish(call, NOW)
        assert VENDOR.is_final(finished)
        assert conversation_from_retell(finished).status.value in ("done", "failed")
        if VENDOR.is_final(call):
            assert finished == call  # nothing left to change


def test_finish_ends_an_open_call_with_a_goodbye_and_an_analysis() -> None:
    ongoing = next(c for c in recent(300) if c["call_status"] == "ongoing")
    later = datetime.fromtimestamp(ongoing["start_timestamp"] / 1000 + 600, UTC)
    done = VENDOR.finish(ongoing, later)
    assert done["call_status"] == "ended" and done["call_analysis"]["call_summary"]
    assert done["end_timestamp"] == ongoing["start_timestamp"] + 600_000
    assert len(done["transcript_object"]) == len(ongoing["transcript_object"]) + 3
    assert done["transcript_object"][-1]["content"] == "You're welcome. Have a great day!"
    assert done["call_cost"]["combined_cost"] > 0
    assert ongoing["call_status"] == "ongoing"  # the input is left alone


def test_old_calls_in_a_simulated_account_are_final() -> None:
    with SimulatorServer("retell", SimulatorOptions(conversations=120, seed=2)) as sim:
        assert all(VENDOR.is_final(c) for c in sim.store.by_id.values())


# ------------------------------------------------------------------ the HTTP API


def test_list_items_have_no_transcript_but_the_detail_does(sim: SimulatorServer) -> None:
    answer = list_calls(sim, {"limit": 1000}).json()
    assert answer["has_more"] is False and answer["pagination_key"] is None
    assert len(answer["items"]) == 90
    assert not any(TRANSCRIPT_FIELDS & item.keys() for item in answer["items"])
    call_id = next(i["call_id"] for i in answer["items"] if i["call_status"] == "ended")
    detail = httpx.get(f"{sim.url}/v2/get-call/{call_id}", headers={"Authorization": f"Bearer {KEY}"}).json()
    assert detail["transcript_object"] and detail["transcript_with_tool_calls"] and detail["transcript"]
    listed = next(i for i in answer["items"] if i["call_id"] == call_id)
    assert {k: v for k, v in detail.items() if k not in TRANSCRIPT_FIELDS} == listed


def test_pagination_order_and_filters(sim: SimulatorServer) -> None:
    seen: list[dict[str, Any]] = []
    body: dict[str, Any] = {"limit": 25}
    while True:
        answer = list_calls(sim, body).json()
        seen.extend(answer["items"])
        if not answer["has_more"]:
            break
        body["pagination_key"] = answer["pagination_key"]
    assert len(seen) == 90 and len({c["call_id"] for c in seen}) == 90
    starts = [c["start_timestamp"] for c in seen]
    assert starts == sorted(starts, reverse=True)

    ascending = list_calls(sim, {"limit": 1000, "sort_order": "ascending"}).json()["items"]
    assert [c["call_id"] for c in ascending] == [c["call_id"] for c in reversed(seen)]
    first = list_calls(sim, {"limit": 30, "sort_order": "ascending"}).json()
    rest = list_calls(sim, {"limit": 1000, "sort_order": "ascending", "pagination_key": first["pagination_key"]})
    assert [c["call_id"] for c in first["items"] + rest.json()["items"]] == [c["call_id"] for c in ascending]

    # A cursor still leads on when the call it points at has been deleted meanwhile.
    page = list_calls(sim, {"limit": 10}).json()
    sim.store.delete(page["items"][-1]["call_id"])
    after = list_calls(sim, {"limit": 1000, "pagination_key": page["pagination_key"]}).json()["items"]
    assert [c["call_id"] for c in after] == [c["call_id"] for c in seen[10:]]
    seen = seen[:9] + seen[10:]

    cut = starts[40]
    newer = list_calls(sim, {"filter_criteria": {"start_timestamp": {"op": "ge", "type": "number", "value": cut}},
                             "limit": 1000}).json()["items"]
    assert [c["call_id"] for c in newer] == [c["call_id"] for c in seen if c["start_timestamp"] >= cut]
    legacy = list_calls(sim, {"filter_criteria": {"start_timestamp": {"lower_threshold": cut}}, "limit": 1000})
    assert legacy.json()["items"] == newer
    between = list_calls(sim, {"filter_criteria": {"start_timestamp": {"op": "bt", "type": "range",
                                                                       "value": [starts[50], starts[10]]}}})
    assert len(between.json()["items"]) == 41

    agent = seen[0]["agent_id"]
    by_agent = list_calls(sim, {"filter_criteria": {"agent": [{"agent_id": agent}]}, "limit": 1000}).json()["items"]
    assert by_agent and {c["agent_id"] for c in by_agent} == {agent}
    web = list_calls(sim, {"filter_criteria": {"call_type": {"op": "in", "type": "enum", "value": ["web_call"]}},
                           "limit": 1000}).json()["items"]
    assert web and {c["call_type"] for c in web} == {"web_call"}


@pytest.mark.parametrize(
    "body",
    [{"limit": 0}, {"limit": 1001}, {"limit": "50"}, {"sort_order": "newest"}, {"pagination_key": "not-ours"},
     {"filter_criteria": {"start_timestamp": {"op": "about", "value": 1}}}, {"filter_criteria": []}],
)
def test_bad_list_requests_are_400(sim: SimulatorServer, body: dict[str, Any]) -> None:
    answer = list_calls(sim, body)
    assert answer.status_code == 400 and answer.json()["status"] == "error"


def test_the_api_key_is_checked(sim: SimulatorServer) -> None:
    assert list_calls(sim, {}, key="wrong").status_code == 401
    assert httpx.post(f"{sim.url}/v3/list-calls", json={}).status_code == 401
    call_id = next(iter(sim.store.by_id))
    assert httpx.get(f"{sim.url}/v2/get-call/{call_id}", headers={"Authorization": KEY}).status_code == 401
    assert httpx.delete(f"{sim.url}/v2/delete-call/{call_id}").status_code == 401
    assert call_id in sim.store.by_id


def test_unknown_ids_are_404_json(sim: SimulatorServer) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    for answer in (httpx.get(f"{sim.url}/v2/get-call/call_nope", headers=auth),
                   httpx.delete(f"{sim.url}/v2/delete-call/call_nope", headers=auth),
                   httpx.get(f"{sim.url}/_recordings/call_nope.mp3")):
        assert answer.status_code == 404
        assert "call_nope" in answer.json()["message"]


def test_recordings_are_absolute_urls_served_by_the_simulator(sim: SimulatorServer) -> None:
    items = list_calls(sim, {"limit": 1000}).json()["items"]
    with_audio = [i for i in items if i.get("recording_url")]
    assert with_audio and all(i["recording_url"].startswith(f"{sim.url}/_recordings/") for i in with_audio)
    answer = httpx.get(with_audio[0]["recording_url"])
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/mpeg"
    assert answer.content == generate_audio_bytes(with_audio[0]["call_id"])
    assert sim.store.stats["audio"] == 1
    assert VENDOR.is_binary("/_recordings/call_1.mp3") and not VENDOR.is_binary("/v2/get-call/call_1")


def test_faults_apply_to_recordings() -> None:
    with SimulatorServer("retell", SimulatorOptions(conversations=30, seed=4, fault_rate=1.0,
                                                    timeout_hold_secs=0.01)) as sim:
        call = next(c for c in sim.store.by_id.values() if c.get("recording_url"))
        answer = httpx.get(f"{sim.url}{call['recording_url']}")
        assert answer.status_code in (500, 503, 504)
        assert sim.store.stats["fault_malformed"] == 0  # never a truncated JSON body on audio


# ------------------------------------------------------------------ the official SDK


def test_the_official_sdk_lists_gets_and_deletes(sim: SimulatorServer) -> None:
    client = Retell(api_key=KEY, base_url=sim.url, max_retries=0)
    ids: list[str] = []
    key: str | None = None
    while True:
        page = client.call.list(limit=40, sort_order="descending", pagination_key=key or retell.omit)
        ids.extend(item.call_id for item in page.items)
        if not page.has_more:
            break
        key = page.pagination_key
    assert len(ids) == len(set(ids)) == 90 and set(ids) == set(sim.store.by_id)

    call_id = next(cid for cid, c in sim.store.by_id.items() if c.get("call_analysis"))
    call = client.call.retrieve(call_id)
    assert call.call_id == call_id and call.call_status == "ended"
    assert call.transcript_object and call.call_analysis is not None and call.call_cost is not None
    assert call.call_type in ("phone_call", "web_call")

    client.call.delete(call_id)
    with pytest.raises(retell.NotFoundError):
        client.call.retrieve(call_id)
    with pytest.raises(retell.AuthenticationError):
        Retell(api_key="wrong", base_url=sim.url, max_retries=0).call.list()


async def test_the_official_async_sdk_lists_with_a_start_filter(sim: SimulatorServer) -> None:
    client = AsyncRetell(api_key=KEY, base_url=sim.url, max_retries=0)
    starts = sorted((c["start_timestamp"] for c in sim.store.by_id.values()), reverse=True)
    page = await client.call.list(
        limit=1000, filter_criteria={"start_timestamp": {"op": "ge", "type": "number", "value": starts[29]}},
    )
    assert len(page.items) == 30 and not page.has_more
    await client.close()


# ------------------------------------------------------------------ webhooks


def test_webhooks_of_an_analysed_call_are_signed_and_fold_into_the_call() -> None:
    call = next(c for c in recent(50) if c.get("call_analysis"))
    deliveries = VENDOR.webhook_deliveries(call, KEY, datetime.now(UTC))
    assert [orjson.loads(body)["event"] for _, body in deliveries] == ["call_started", "call_ended", "call_analyzed"]
    merged: dict[str, Any] | None = None
    for headers, body in reversed(deliveries):  # out of order on purpose
        verify(Headers(headers), body, api_key=KEY, secret=None, options={}, now=time.time())
        assert sdk_verify(body.decode(), KEY, headers["x-retell-signature"]) is True
        merged = merge(merged, parse(body))
    assert merged == call
    started = orjson.loads(deliveries[0][1])["call"]
    assert started["call_status"] == "ongoing" and "transcript_object" not in started
    assert "call_analysis" not in orjson.loads(deliveries[1][1])["call"]


def test_webhooks_follow_how_far_the_call_got() -> None:
    events = {}
    for call in recent(300):
        kinds = tuple(orjson.loads(body)["event"] for _, body in VENDOR.webhook_deliveries(call, KEY, NOW))
        events["analysed" if call.get("call_analysis") else call["call_status"]] = kinds
    assert events["registered"] == ()
    assert events["ongoing"] == ("call_started",)
    assert events["ended"] == ("call_started", "call_ended")
    assert events["error"] == ("call_started", "call_ended")
    assert events["not_connected"] == ("call_ended",)


def test_webhooks_signed_with_another_key_are_refused() -> None:
    call = next(c for c in recent(50) if c.get("call_analysis"))
    headers, body = VENDOR.webhook_deliveries(call, "other-key", datetime.now(UTC))[0]
    with pytest.raises(WebhookRejected, match="does not match"):
        verify(Headers(headers), body, api_key=KEY, secret=None, options={}, now=time.time())
