"""RetellProvider against the Retell simulator on loopback (and httpx.MockTransport for odd answers)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from convhub.conversations.schemas import Status
from convhub.providers.base import (
    AuthenticationFailed,
    ConversationGone,
    ListedConversation,
    PermanentProviderError,
)
from convhub.providers.retell.client import VENDOR_MAX_PAGE, RetellProvider, fingerprint
from convhub.simulators.common import SimulatorOptions, SimulatorServer
from convhub.simulators.generate import generate_audio_bytes

KEY = "sim-key"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer("retell", SimulatorOptions(conversations=120, seed=11)) as server:
        yield server


def provider_for(sim: SimulatorServer, **kwargs: Any) -> RetellProvider:
    provider = RetellProvider(kwargs.pop("api_key", KEY), sim.url, **kwargs)
    provider.http.backoff_base = 0.01
    return provider


async def list_all(provider: RetellProvider, since: datetime | None = None) -> tuple[list[ListedConversation], int]:
    items: list[ListedConversation] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await provider.list_page(cursor, since=since)
        pages += 1
        items.extend(page.items)
        if page.next_cursor is None:
            return items, pages
        cursor = page.next_cursor


# ------------------------------------------------------------------ listing


async def test_every_page_newest_first_without_duplicates(sim: SimulatorServer) -> None:
    provider = provider_for(sim, page_size=25)
    try:
        items, pages = await list_all(provider)
    finally:
        await provider.aclose()
    ids = [i.provider_conversation_id for i in items]
    assert pages == 5  # 120 calls, 25 a page
    assert len(ids) == len(set(ids)) == 120
    assert set(ids) == set(sim.store.by_id)
    starts = [i.started_at for i in items]
    assert starts == sorted(starts, reverse=True)
    assert sim.store.stats["list"] == 5


async def test_list_items_describe_the_call(sim: SimulatorServer) -> None:
    provider = provider_for(sim)
    try:
        page = await provider.list_page(None)
    finally:
        await provider.aclose()
    assert page.next_cursor is None  # one page of up to 1000
    by_id = {i.provider_conversation_id: i for i in page.items}
    for call_id, call in sim.store.by_id.items():
        item = by_id[call_id]
        assert item.started_at == datetime.fromtimestamp(call["start_timestamp"] / 1000, UTC)
        assert item.provider_agent_id == call["agent_id"] and item.agent_name == call["agent_name"]
        assert item.final is sim.store.vendor.is_final(call)
        # Items lack the transcript, so the engine must ask for the call, except for one that never connected.
        assert (item.detail is not None) is (call["call_status"] == "not_connected")


async def test_since_filters_on_the_start_time_server_side(sim: SimulatorServer) -> None:
    starts = sorted(c["start_timestamp"] for c in sim.store.by_id.values())
    since = datetime.fromtimestamp(starts[70] / 1000, UTC)
    provider = provider_for(sim, page_size=20)
    try:
        items, pages = await list_all(provider, since=since)
    finally:
        await provider.aclose()
    expected = {cid for cid, c in sim.store.by_id.items() if c["start_timestamp"] >= starts[70]}
    assert {i.provider_conversation_id for i in items} == expected
    assert len(items) == len(expected) and pages == -(-len(expected) // 20)


async def test_the_cursor_survives_a_restart(sim: SimulatorServer) -> None:
    first = provider_for(sim, page_size=50)
    try:
        page = await first.list_page(None)
    finally:
        await first.aclose()
    assert page.next_cursor is not None
    second = provider_for(sim, page_size=50)  # a new process resuming from the stored checkpoint
    try:
        rest = await second.list_page(page.next_cursor)
    finally:
        await second.aclose()
    seen = {i.provider_conversation_id for i in page.items}
    assert not seen & {i.provider_conversation_id for i in rest.items}
    assert rest.items[0].started_at <= page.items[-1].started_at


async def test_the_fingerprint_changes_when_the_call_changes(sim: SimulatorServer) -> None:
    call_id, call = next((cid, c) for cid, c in sim.store.by_id.items() if c.get("call_analysis"))
    analysis = call.pop("call_analysis")  # back to "ended, analysis pending"
    provider = provider_for(sim)
    try:
        before = {i.provider_conversation_id: i for i in (await provider.list_page(None)).items}[call_id]
        again = {i.provider_conversation_id: i for i in (await provider.list_page(None)).items}[call_id]
        call["call_analysis"] = analysis
        after = {i.provider_conversation_id: i for i in (await provider.list_page(None)).items}[call_id]
    finally:
        await provider.aclose()
    assert before.final is False and after.final is True
    assert before.fingerprint == again.fingerprint != after.fingerprint


def test_the_fingerprint_ignores_re_signed_urls_but_not_their_presence() -> None:
    item = {"call_id": "call_1", "call_status": "ended", "recording_url": "https://cdn.example/r.wav?sig=1"}
    assert fingerprint(item) == fingerprint({**item, "recording_url": "https://cdn.example/r.wav?sig=2"})
    assert fingerprint(item) != fingerprint({**item, "recording_url": None})
    assert fingerprint(item) == fingerprint(dict(reversed(list(item.items()))))


# ------------------------------------------------------------------ one call


async def test_detail_has_the_transcript_and_maps(sim: SimulatorServer) -> None:
    call_id = next(cid for cid, c in sim.store.by_id.items() if c.get("call_analysis"))
    provider = provider_for(sim)
    try:
        detail = await provider.get_conversation(call_id)
    finally:
        await provider.aclose()
    assert detail["call_id"] == call_id
    assert detail["transcript_object"] and detail["transcript_with_tool_calls"]
    conv = provider.map_conversation(detail)
    assert conv.provider == "retell" and conv.status is Status.done and conv.turns
    assert sim.store.stats["detail"] == 1


async def test_the_recording_is_streamed(sim: SimulatorServer) -> None:
    call_id = next(cid for cid, c in sim.store.by_id.items() if c.get("recording_url"))
    provider = provider_for(sim)
    try:
        detail = await provider.get_conversation(call_id)
        assert detail["recording_url"] == f"{sim.url}/_recordings/{call_id}.mp3"
        chunks = provider.stream_audio(call_id, detail)
        assert chunks is not None
        audio = b"".join([chunk async for chunk in chunks])
        assert provider.stream_audio(call_id, {**detail, "recording_url": None}) is None
    finally:
        await provider.aclose()
    assert audio == generate_audio_bytes(call_id)
    assert sim.store.stats["audio"] == 1


async def test_delete_then_the_call_is_gone(sim: SimulatorServer) -> None:
    call_id = next(iter(sim.store.by_id))
    provider = provider_for(sim)
    try:
        await provider.delete_conversation(call_id)
        assert call_id not in sim.store.by_id
        with pytest.raises(ConversationGone):
            await provider.get_conversation(call_id)
        with pytest.raises(ConversationGone):
            await provider.delete_conversation(call_id)
        items, _ = await list_all(provider)
    finally:
        await provider.aclose()
    assert call_id not in {i.provider_conversation_id for i in items}
    assert sim.store.stats["delete"] == 2


async def test_an_unknown_call_is_gone(sim: SimulatorServer) -> None:
    provider = provider_for(sim)
    try:
        with pytest.raises(ConversationGone):
            await provider.get_conversation("call_00000000000000000000000000000000")
    finally:
        await provider.aclose()


async def test_a_wrong_key_fails_authentication(sim: SimulatorServer) -> None:
    provider = provider_for(sim, api_key="not-the-key")
    try:
        with pytest.raises(AuthenticationFailed):
            await provider.check()
        with pytest.raises(AuthenticationFailed):
            await provider.list_page(None)
        with pytest.raises(AuthenticationFailed):
            await provider.get_conversation(next(iter(sim.store.by_id)))
    finally:
        await provider.aclose()
    assert provider.http.requests == 3  # not retried


async def test_check_passes_with_the_right_key(sim: SimulatorServer) -> None:
    provider = provider_for(sim)
    try:
        await provider.check()
    finally:
        await provider.aclose()


async def test_a_full_sync_survives_faults_with_each_call_exactly_once() -> None:
    options = SimulatorOptions(conversations=150, seed=3, fault_rate=0.3, timeout_hold_secs=2)
    with SimulatorServer("retell", options) as sim:
        provider = RetellProvider(KEY, sim.url, max_concurrency=3, timeout=0.5, max_attempts=12, page_size=20)
        provider.http.backoff_base = 0.01
        try:
            items, _ = await list_all(provider)
            ids = [i.provider_conversation_id for i in items]
            details = await asyncio.gather(*(provider.get_conversation(cid) for cid in ids[:60]))
            with_audio = [d for d in details if d.get("recording_url")][:10]
            audio = []
            for d in with_audio:
                chunks = provider.stream_audio(d["call_id"], d)
                assert chunks is not None
                audio.append(b"".join([c async for c in chunks]))
        finally:
            await provider.aclose()
        assert len(ids) == len(set(ids)) == 150
        assert set(ids) == set(sim.store.by_id)
        assert [d["call_id"] for d in details] == ids[:60]
        assert audio == [generate_audio_bytes(d["call_id"]) for d in with_audio]
        assert sim.store.stats["faults"] > 0
        pages = -(-150 // 20)
        assert provider.http.requests > pages + len(details) + len(with_audio)  # the faults were retried


# ------------------------------------------------------------------ odd answers (MockTransport)


def mock(handler: Any) -> RetellProvider:
    provider = RetellProvider("k", "https://api.retell.test", transport=httpx.MockTransport(handler), max_attempts=1)
    return provider


async def test_the_request_shape() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [], "has_more": False})

    provider = mock(handle)
    try:
        await provider.list_page("pk_1", since=datetime(2025, 6, 1, tzinfo=UTC))
    finally:
        await provider.aclose()
    assert seen[0].method == "POST" and seen[0].url == "https://api.retell.test/v3/list-calls"
    assert seen[0].headers["authorization"] == "Bearer k"
    assert orjson.loads(seen[0].content) == {
        "limit": VENDOR_MAX_PAGE,
        "sort_order": "descending",
        "pagination_key": "pk_1",
        "filter_criteria": {"start_timestamp": {"op": "ge", "type": "number", "value": 1748736000000}},
    }


async def test_calls_not_started_yet_are_left_for_later() -> None:
    items = [
        {"call_id": "call_a", "agent_id": "agent_1", "call_status": "registered"},  # no start_timestamp yet
        {"call_id": "call_b", "agent_id": "agent_1", "call_status": "ongoing", "start_timestamp": 1749042000000},
    ]
    provider = mock(lambda r: httpx.Response(200, json={"items": items, "has_more": False}))
    try:
        page = await provider.list_page(None)
    finally:
        await provider.aclose()
    assert [i.provider_conversation_id for i in page.items] == ["call_b"]
    assert page.items[0].final is False


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"items": [], "has_more": True}, "has_more without a pagination_key"),
        ({"calls": []}, "no list of items"),
        ([], "no list of items"),
        ({"items": ["call_a"], "has_more": False}, "not a JSON object"),
        ({"items": [{"start_timestamp": 1}], "has_more": False}, "no call_id"),
        ({"items": [{"call_id": "c", "start_timestamp": "1"}], "has_more": False}, "not a number"),
    ],
)
async def test_list_answers_that_break_the_contract(answer: Any, message: str) -> None:
    provider = mock(lambda r: httpx.Response(200, json=answer))
    try:
        with pytest.raises(PermanentProviderError, match=message):
            await provider.list_page(None)
    finally:
        await provider.aclose()


async def test_a_recording_on_another_host_is_fetched_without_the_api_key() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"RIFF....WAVE")

    provider = mock(handle)
    try:
        for url in ("https://cdn.retell.test/r/call_1.wav", "https://api.retell.test/_recordings/call_1.wav",
                    "/_recordings/call_1.wav"):
            chunks = provider.stream_audio("call_1", {"recording_url": url})
            assert chunks is not None
            assert b"".join([c async for c in chunks]) == b"RIFF....WAVE"
    finally:
        await provider.aclose()
    assert [str(r.url) for r in seen] == [
        "https://cdn.retell.test/r/call_1.wav",
        "https://api.retell.test/_recordings/call_1.wav",
        "https://api.retell.test/_recordings/call_1.wav",
    ]
    assert "authorization" not in seen[0].headers
    assert seen[1].headers["authorization"] == "Bearer k" and seen[2].headers["authorization"] == "Bearer k"


async def test_ids_are_escaped_in_paths() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204) if request.method == "DELETE" else httpx.Response(200, json={"call_id": "x"})

    provider = mock(handle)
    try:
        await provider.get_conversation("call/../1")
        await provider.delete_conversation("call/../1")
    finally:
        await provider.aclose()
    assert [r.url.raw_path for r in seen] == [b"/v2/get-call/call%2F..%2F1", b"/v2/delete-call/call%2F..%2F1"]


def test_page_size_is_bounded() -> None:
    with pytest.raises(ValueError, match="page_size"):
        RetellProvider("k", page_size=VENDOR_MAX_PAGE + 1)
    provider = RetellProvider("k")
    assert str(provider.http.client.base_url) == "https://api.retellai.com"
    asyncio.run(provider.aclose())
