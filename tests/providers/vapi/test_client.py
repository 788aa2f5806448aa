"""VapiProvider against the Vapi simulator on loopback, and against a scripted API for the paging edge cases."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from convhub.conversations.schemas import Status
from convhub.providers.base import (
    AuthenticationFailed,
    ConversationGone,
    ListedConversation,
    PermanentProviderError,
)
from convhub.providers.vapi import client as vapi_client
from convhub.providers.vapi.client import VENDOR_MAX_PAGE, VapiProvider
from convhub.simulators.common import SimulatorOptions, SimulatorServer
from convhub.simulators.generate import generate_audio_bytes

KEY = "sim-key"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """A read-only account shared by the tests that do not change it: a month of calls, then some just now."""
    with SimulatorServer("vapi", SimulatorOptions(conversations=60, seed=11)) as server:
        server.store.add(20)  # recent calls: some still under way
        yield server


@pytest.fixture
def own_sim() -> Iterator[SimulatorServer]:
    with SimulatorServer("vapi", SimulatorOptions(conversations=12, seed=5)) as server:
        server.store.add(12)
        yield server


def provider_for(url: str, **kwargs: Any) -> VapiProvider:
    provider = VapiProvider(KEY, url, **kwargs)
    provider.http.backoff_base = 0.01
    return provider


async def list_all(provider: VapiProvider, *, since: datetime | None = None) -> list[ListedConversation]:
    items: list[ListedConversation] = []
    cursor: str | None = None
    for _ in range(10_000):
        page = await provider.list_page(cursor, since=since)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("the listing never ended")


def newest_first_ids(server: SimulatorServer) -> list[str]:
    return [call["id"] for call in server.store.ordered()]


# ----------------------------------------------------------------------- listing


@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 100])
async def test_every_page_reached_once_newest_first(sim: SimulatorServer, page_size: int) -> None:
    provider = provider_for(sim.url, page_size=page_size)
    try:
        items = await list_all(provider)
    finally:
        await provider.aclose()
    ids = [item.provider_conversation_id for item in items]
    assert Counter(ids).most_common(1)[0][1] == 1
    assert set(ids) == set(sim.store.by_id)
    starts = [item.started_at for item in items]
    assert starts == sorted(starts, reverse=True)


def test_the_account_has_calls_sharing_a_creation_instant(sim: SimulatorServer) -> None:
    # What the listing test above is about: without ties it would prove much less.
    shared = Counter(call["createdAt"] for call in sim.store.by_id.values())
    assert max(shared.values()) >= 3


async def test_listed_items_are_whole_calls(sim: SimulatorServer) -> None:
    provider = provider_for(sim.url)
    try:
        items = await list_all(provider)
    finally:
        await provider.aclose()
    by_id = {item.provider_conversation_id: item for item in items}
    for call_id, call in sim.store.by_id.items():
        item = by_id[call_id]
        assert item.detail == call
        assert item.final is (call["status"] == "ended")  # the simulator's ended calls all carry analysis
        assert item.provider_agent_id == call["assistantId"]
        assert item.started_at == datetime.fromisoformat(call["createdAt"])
    assert {item.final for item in items} == {True, False}
    assert any(item.agent_name for item in items)


async def test_fingerprint_changes_when_the_call_does(own_sim: SimulatorServer) -> None:
    provider = provider_for(own_sim.url)
    try:
        before = {i.provider_conversation_id: i for i in await list_all(provider)}
        finished = own_sim.store.finish_open()
        after = {i.provider_conversation_id: i for i in await list_all(provider)}
    finally:
        await provider.aclose()
    assert finished > 0
    changed = {cid for cid in before if before[cid].fingerprint != after[cid].fingerprint}
    assert changed == {cid for cid in before if not before[cid].final}
    assert all(item.final for item in after.values())


async def test_since_keeps_calls_created_from_then_on(sim: SimulatorServer) -> None:
    ordered = sim.store.ordered()
    since = datetime.fromisoformat(ordered[len(ordered) // 2]["createdAt"])
    expected = {c["id"] for c in ordered if datetime.fromisoformat(c["createdAt"]) >= since}
    provider = provider_for(sim.url, page_size=4)
    try:
        items = await list_all(provider, since=since)
    finally:
        await provider.aclose()
    assert [i.provider_conversation_id for i in items] == [c for c in newest_first_ids(sim) if c in expected]


async def test_cursor_survives_a_restart(sim: SimulatorServer) -> None:
    first = provider_for(sim.url, page_size=5)
    page = await first.list_page(None)
    await first.aclose()
    assert page.next_cursor is not None
    second = provider_for(sim.url, page_size=5)
    try:
        rest = await list_all_from(second, page.next_cursor)
    finally:
        await second.aclose()
    ids = [i.provider_conversation_id for i in page.items + rest]
    assert ids == newest_first_ids(sim)


async def list_all_from(provider: VapiProvider, cursor: str) -> list[ListedConversation]:
    items: list[ListedConversation] = []
    next_cursor: str | None = cursor
    while next_cursor is not None:
        page = await provider.list_page(next_cursor)
        items.extend(page.items)
        next_cursor = page.next_cursor
    return items


@pytest.mark.parametrize("cursor", ["not base64 !", "eyJ4IjoxfQ", "W10"])
async def test_foreign_cursor_is_refused(cursor: str) -> None:
    provider = VapiProvider(KEY, "http://vapi.invalid", transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    try:
        with pytest.raises(PermanentProviderError, match="cursor"):
            await provider.list_page(cursor)
    finally:
        await provider.aclose()


# ----------------------------------------------------------------------- one call


async def test_detail_and_mapping(sim: SimulatorServer) -> None:
    call_id, call = next((cid, c) for cid, c in sim.store.by_id.items() if c["status"] == "ended")
    provider = provider_for(sim.url)
    try:
        detail = await provider.get_conversation(call_id)
    finally:
        await provider.aclose()
    assert detail == call
    conv = provider.map_conversation(detail)
    assert conv.provider_conversation_id == call_id
    assert conv.status in (Status.done, Status.failed)


async def test_audio_is_streamed_from_the_recording_url(sim: SimulatorServer) -> None:
    call = next(c for c in sim.store.ordered() if c.get("artifact", {}).get("recordingUrl"))
    assert call["artifact"]["recordingUrl"].startswith(sim.url + "/_recordings/")
    provider = provider_for(sim.url)
    try:
        stream = provider.stream_audio(call["id"], call)
        assert stream is not None
        audio = b"".join([chunk async for chunk in stream])
    finally:
        await provider.aclose()
    seconds = (datetime.fromisoformat(call["endedAt"]) - datetime.fromisoformat(call["startedAt"])).seconds
    assert audio == generate_audio_bytes(call["id"], seconds=max(1, min(seconds, 120)))
    assert audio.startswith(b"ID3")


def test_no_recording_means_no_stream(sim: SimulatorServer) -> None:
    call = next(c for c in sim.store.ordered() if not c.get("artifact", {}).get("recordingUrl"))
    provider = provider_for(sim.url)
    assert provider.stream_audio(call["id"], call) is None
    asyncio.run(provider.aclose())


async def test_delete(own_sim: SimulatorServer) -> None:
    call_id = newest_first_ids(own_sim)[0]
    provider = provider_for(own_sim.url)
    try:
        await provider.delete_conversation(call_id)
        assert call_id in own_sim.store.deleted
        with pytest.raises(ConversationGone):
            await provider.get_conversation(call_id)
        with pytest.raises(ConversationGone):
            await provider.delete_conversation(call_id)
        assert call_id not in {i.provider_conversation_id for i in await list_all(provider)}
    finally:
        await provider.aclose()
    assert own_sim.store.stats["delete"] == 2


async def test_unknown_call_is_gone(sim: SimulatorServer) -> None:
    provider = provider_for(sim.url)
    try:
        with pytest.raises(ConversationGone):
            await provider.get_conversation("00000000-0000-4000-8000-000000000000")
    finally:
        await provider.aclose()


async def test_wrong_key_is_an_authentication_failure(sim: SimulatorServer) -> None:
    provider = VapiProvider("wrong-key", sim.url)
    try:
        with pytest.raises(AuthenticationFailed):
            await provider.check()
        with pytest.raises(AuthenticationFailed):
            await provider.list_page(None)
        with pytest.raises(AuthenticationFailed):
            await provider.get_conversation(newest_first_ids(sim)[0])
    finally:
        await provider.aclose()


async def test_check_passes_with_the_right_key(sim: SimulatorServer) -> None:
    provider = provider_for(sim.url)
    try:
        await provider.check()
    finally:
        await provider.aclose()


# ----------------------------------------------------------------------- under faults


async def test_full_listing_and_details_survive_faults_and_a_concurrency_cap() -> None:
    options = SimulatorOptions(conversations=40, seed=3, fault_rate=0.3, max_concurrency=3, timeout_hold_secs=2,
                               retry_after_secs=0.05)
    with SimulatorServer("vapi", options) as server:
        provider = VapiProvider(KEY, server.url, max_concurrency=2, timeout=0.5, max_attempts=14, page_size=6)
        provider.http.backoff_base = 0.01
        try:
            items = await list_all(provider)
            ids = [i.provider_conversation_id for i in items]
            details = await asyncio.gather(*(provider.get_conversation(cid) for cid in ids[:10]))
        finally:
            await provider.aclose()
        assert sorted(ids) == sorted(server.store.by_id)
        assert len(ids) == len(set(ids))
        assert [d["id"] for d in details] == ids[:10]
        assert server.store.stats["faults"] > 0
        assert provider.http.requests > server.store.stats["list"] - server.store.stats["faults"]


# ----------------------------------------------------------------------- ties beyond one page (scripted API)


class ScriptedVapi:
    """``GET /call`` with Vapi's window semantics over given calls; ties come back in a fixed, arbitrary order."""

    def __init__(self, calls: list[dict[str, Any]]) -> None:
        self.calls = calls
        self.requests: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        self.requests.append(params)
        limit = int(float(params.get("limit", "100")))
        if limit > VENDOR_MAX_PAGE:
            return httpx.Response(400, json={"message": ["limit must not be greater than 1000"]})

        def at(call: dict[str, Any]) -> datetime:
            return datetime.fromisoformat(call["createdAt"])

        bounds = {k: datetime.fromisoformat(v) for k, v in params.items() if k.startswith("createdAt")}
        chosen = [
            c for c in self.calls
            if ("createdAtLe" not in bounds or at(c) <= bounds["createdAtLe"])
            and ("createdAtLt" not in bounds or at(c) < bounds["createdAtLt"])
            and ("createdAtGe" not in bounds or at(c) >= bounds["createdAtGe"])
        ]
        chosen.sort(key=lambda c: (at(c), c["id"][::-1]), reverse=True)
        return httpx.Response(200, json=chosen[:limit])


def scripted_calls(groups: list[int]) -> list[dict[str, Any]]:
    """Calls in instants one second apart, ``groups[i]`` of them sharing instant i."""
    base = datetime(2025, 6, 4, 12, tzinfo=UTC)
    calls = []
    for i, size in enumerate(groups):
        created = (base - timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        for j in range(size):
            calls.append({"id": f"call-{i:03d}-{j:04d}", "status": "ended", "createdAt": created,
                          "assistantId": "asst-1", "artifact": {"messages": []}})
    return calls


@pytest.mark.parametrize(("groups", "page_size"), [([1, 250, 3], 10), ([40, 40, 1], 40), ([7] * 6, 5), ([1] * 9, 2)])
async def test_ties_larger_than_a_page_are_all_listed_once(groups: list[int], page_size: int) -> None:
    api = ScriptedVapi(scripted_calls(groups))
    provider = VapiProvider(KEY, "http://vapi.invalid", transport=httpx.MockTransport(api), page_size=page_size)
    try:
        items = await list_all(provider)
    finally:
        await provider.aclose()
    ids = [i.provider_conversation_id for i in items]
    assert sorted(ids) == sorted(c["id"] for c in api.calls)
    assert len(set(ids)) == len(ids)
    assert max(int(r["limit"]) for r in api.requests) <= VENDOR_MAX_PAGE


async def test_more_ties_than_the_largest_page_move_on_instead_of_looping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vapi_client, "VENDOR_MAX_PAGE", 4)
    api = ScriptedVapi(scripted_calls([2, 9, 3]))
    provider = VapiProvider(KEY, "http://vapi.invalid", transport=httpx.MockTransport(api), page_size=2)
    try:
        items = await list_all(provider)
    finally:
        await provider.aclose()
    ids = [i.provider_conversation_id for i in items]
    assert len(set(ids)) == len(ids)
    # Everything before and after the oversized instant, and as many of it as the largest page holds.
    assert {c for c in ids if not c.startswith("call-001")} == {
        c["id"] for c in api.calls if not c["id"].startswith("call-001")
    }
    assert sum(c.startswith("call-001") for c in ids) == 4
    assert any("createdAtLt" in r for r in api.requests)


async def test_since_is_sent_as_created_at_ge() -> None:
    api = ScriptedVapi(scripted_calls([1, 1, 1]))
    provider = VapiProvider(KEY, "http://vapi.invalid", transport=httpx.MockTransport(api))
    try:
        await provider.list_page(None, since=datetime(2025, 6, 4, 11, 59, 59, 123_456, tzinfo=UTC))
    finally:
        await provider.aclose()
    assert api.requests[0]["createdAtGe"] == "2025-06-04T11:59:59.123Z"


async def test_ended_call_is_final_once_its_analysis_landed() -> None:
    calls = scripted_calls([1, 1, 1])
    calls[0]["analysis"] = {"summary": "Booked."}
    calls[1]["analysis"] = {}  # nothing to analyse, but the analysis step has run
    calls[2]["status"] = "in-progress"
    calls[2]["analysis"] = {}
    provider = VapiProvider(KEY, "http://vapi.invalid", transport=httpx.MockTransport(ScriptedVapi(calls)))
    try:
        page = await provider.list_page(None)
    finally:
        await provider.aclose()
    assert [i.final for i in page.items] == [True, True, False]
    calls[0].pop("analysis")
    provider = VapiProvider(KEY, "http://vapi.invalid", transport=httpx.MockTransport(ScriptedVapi(calls)))
    try:
        page = await provider.list_page(None)
    finally:
        await provider.aclose()
    assert page.items[0].final is False


async def test_ended_list_item_without_artifact_asks_for_the_detail() -> None:
    calls = scripted_calls([1, 1])
    del calls[0]["artifact"]
    provider = VapiProvider(KEY, "http://vapi.invalid", transport=httpx.MockTransport(ScriptedVapi(calls)))
    try:
        page = await provider.list_page(None)
    finally:
        await provider.aclose()
    assert [i.detail is None for i in page.items] == [True, False]


async def test_a_list_that_is_not_a_list_is_refused() -> None:
    provider = VapiProvider(KEY, "http://vapi.invalid",
                            transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"calls": []})))
    try:
        with pytest.raises(PermanentProviderError, match="JSON array"):
            await provider.list_page(None)
    finally:
        await provider.aclose()


async def test_requests_carry_the_bearer_key() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=[])

    provider = VapiProvider("pk_live_123", transport=httpx.MockTransport(answer))
    try:
        await provider.check()
    finally:
        await provider.aclose()
    assert seen == ["Bearer pk_live_123"]
    assert str(provider.http.client.base_url) == "https://api.vapi.ai"


async def test_the_api_key_never_goes_to_another_host() -> None:
    seen: dict[str, str | None] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        seen[str(request.url)] = request.headers.get("authorization")
        return httpx.Response(200, content=b"RIFF....WAVE")

    provider = VapiProvider("pk_live_123", transport=httpx.MockTransport(answer))
    try:
        for url in ("https://storage.vapi.ai/c1-mono.wav", "https://recordings.customer.example/c1.wav",
                    "https://api.vapi.ai/call/c1/mono-recording"):
            stream = provider.stream_audio("c1", {"artifact": {"recordingUrl": url}})
            assert stream is not None
            assert b"".join([chunk async for chunk in stream]) == b"RIFF....WAVE"
    finally:
        await provider.aclose()
    assert seen == {
        "https://storage.vapi.ai/c1-mono.wav": None,
        "https://recordings.customer.example/c1.wav": None,
        "https://api.vapi.ai/call/c1/mono-recording": "Bearer pk_live_123",
    }
