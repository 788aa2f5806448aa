"""ElevenLabsProvider against the simulated ElevenLabs API (and a mock transport for odd answers)."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from convhub.providers.base import (
    AuthenticationFailed,
    ConversationGone,
    ListedConversation,
    PermanentProviderError,
    TransientProviderError,
)
from convhub.providers.elevenlabs.client import VENDOR_MAX_PAGE, ElevenLabsProvider
from convhub.simulators.common import SimulatorOptions, SimulatorServer
from convhub.simulators.generate import generate_audio_bytes

KEY = "xi-test-key"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer("elevenlabs", SimulatorOptions(conversations=60, seed=4, api_key=KEY)) as server:
        yield server


@pytest.fixture
async def provider(sim: SimulatorServer) -> AsyncIterator[ElevenLabsProvider]:
    client = ElevenLabsProvider(KEY, sim.url, page_size=7, max_concurrency=4)
    client.http.backoff_base = 0.01
    yield client
    await client.aclose()


async def list_all(provider: ElevenLabsProvider, *, since: datetime | None = None) -> list[ListedConversation]:
    items: list[ListedConversation] = []
    cursor: str | None = None
    while True:
        page = await provider.list_page(cursor, since=since)
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def newest_first(sim: SimulatorServer) -> list[dict[str, Any]]:
    return sim.store.ordered()


# ------------------------------------------------------------------ listing


async def test_every_page_is_reached_once_newest_first(provider: ElevenLabsProvider, sim: SimulatorServer) -> None:
    items = await list_all(provider)

    assert [i.provider_conversation_id for i in items] == [c["conversation_id"] for c in newest_first(sim)]
    assert len({i.provider_conversation_id for i in items}) == 60
    assert sim.store.stats["list"] == math.ceil(60 / 7)
    assert all(a.started_at >= b.started_at for a, b in itertools.pairwise(items))


async def test_list_items_carry_what_the_engine_decides_with(
    provider: ElevenLabsProvider, sim: SimulatorServer
) -> None:
    items = {i.provider_conversation_id: i for i in await list_all(provider)}

    for conv in newest_first(sim):
        item = items[conv["conversation_id"]]
        assert item.started_at == datetime.fromtimestamp(conv["metadata"]["start_time_unix_secs"], UTC)
        assert item.final is (conv["status"] in ("done", "failed"))
        assert item.provider_agent_id == conv["agent_id"]
        assert item.agent_name == conv["agent_name"]
        assert item.detail is None  # a summary: the engine must ask for the detail
    assert len({i.fingerprint for i in items.values()}) == 60


async def test_the_fingerprint_changes_when_the_conversation_does(
    provider: ElevenLabsProvider, sim: SimulatorServer
) -> None:
    sim.store.add(30)  # started now: some are still under way
    before = {i.provider_conversation_id: i for i in await list_all(provider)}
    open_ids = [pid for pid, item in before.items() if not item.final]
    assert open_ids, "the simulator should have conversations under way"

    sim.store.finish_open()
    after = {i.provider_conversation_id: i for i in await list_all(provider)}

    for pid in open_ids:
        assert after[pid].final
        assert after[pid].fingerprint != before[pid].fingerprint
    unchanged = [pid for pid in before if pid not in open_ids]
    assert all(after[pid].fingerprint == before[pid].fingerprint for pid in unchanged)


async def test_a_cursor_survives_a_new_client(provider: ElevenLabsProvider, sim: SimulatorServer) -> None:
    first = await provider.list_page(None)
    assert first.next_cursor is not None

    fresh = ElevenLabsProvider(KEY, sim.url, page_size=7)
    try:
        second = await fresh.list_page(first.next_cursor)
    finally:
        await fresh.aclose()

    expected = [c["conversation_id"] for c in newest_first(sim)[7:14]]
    assert [i.provider_conversation_id for i in second.items] == expected


async def test_since_keeps_conversations_started_at_or_after_it(
    provider: ElevenLabsProvider, sim: SimulatorServer
) -> None:
    ordered = newest_first(sim)
    since = datetime.fromtimestamp(ordered[24]["metadata"]["start_time_unix_secs"], UTC)
    expected = [c["conversation_id"] for c in ordered if c["metadata"]["start_time_unix_secs"] >= since.timestamp()]

    items = await list_all(provider, since=since)

    assert [i.provider_conversation_id for i in items] == expected
    assert len(expected) >= 25


async def test_since_in_the_future_lists_nothing(provider: ElevenLabsProvider) -> None:
    page = await provider.list_page(None, since=datetime.now(UTC) + timedelta(days=1))
    assert page.items == [] and page.next_cursor is None


# ------------------------------------------------------------------ detail, audio, delete


async def test_detail_is_the_vendor_body_and_maps(provider: ElevenLabsProvider, sim: SimulatorServer) -> None:
    conv = newest_first(sim)[3]

    detail = await provider.get_conversation(conv["conversation_id"])

    assert detail == conv
    mapped = provider.map_conversation(detail)
    assert mapped.provider_conversation_id == conv["conversation_id"]
    assert len(mapped.turns) == len(conv["transcript"])
    assert sim.store.stats["detail"] == 1


async def test_audio_is_streamed_in_chunks(sim: SimulatorServer) -> None:
    conv = next(c for c in newest_first(sim) if c["has_audio"] and c["metadata"]["call_duration_secs"] >= 30)
    provider = ElevenLabsProvider(KEY, sim.url)
    try:
        stream = provider.stream_audio(conv["conversation_id"], conv)
        assert stream is not None
        chunks = [chunk async for chunk in stream]
    finally:
        await provider.aclose()

    assert len(chunks) >= 2  # 30 s of MP3 is more than one 64 KiB chunk
    assert b"".join(chunks) == generate_audio_bytes(conv["conversation_id"], 30)
    assert sim.store.stats["audio"] == 1


async def test_no_recording_means_no_stream(provider: ElevenLabsProvider, sim: SimulatorServer) -> None:
    conv = next(c for c in newest_first(sim) if not c["has_audio"])
    assert provider.stream_audio(conv["conversation_id"], conv) is None
    assert sim.store.stats["audio"] == 0


async def test_delete(provider: ElevenLabsProvider, sim: SimulatorServer) -> None:
    pid = newest_first(sim)[0]["conversation_id"]

    await provider.delete_conversation(pid)

    assert sim.store.get(pid) is None
    assert sim.store.stats["delete"] == 1
    with pytest.raises(ConversationGone):
        await provider.get_conversation(pid)
    with pytest.raises(ConversationGone):
        await provider.delete_conversation(pid)
    assert pid not in {i.provider_conversation_id for i in await list_all(provider)}


async def test_an_unknown_conversation_is_gone(provider: ElevenLabsProvider) -> None:
    with pytest.raises(ConversationGone) as info:
        await provider.get_conversation("conv_does_not_exist")
    assert info.value.status_code == 404


async def test_ids_are_one_path_segment() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"detail": {"status": "conversation_not_found"}})

    provider = mock(handler)
    try:
        with pytest.raises(ConversationGone):
            await provider.get_conversation("../x?y")
    finally:
        await provider.aclose()
    assert seen[0].url.raw_path == b"/v1/convai/conversations/..%2Fx%3Fy"


# ------------------------------------------------------------------ credentials


async def test_a_wrong_key_is_an_authentication_failure(sim: SimulatorServer) -> None:
    provider = ElevenLabsProvider("not-the-key", sim.url)
    try:
        with pytest.raises(AuthenticationFailed):
            await provider.list_page(None)
        with pytest.raises(AuthenticationFailed):
            await provider.check()
        with pytest.raises(AuthenticationFailed):
            await provider.get_conversation(newest_first(sim)[0]["conversation_id"])
    finally:
        await provider.aclose()
    assert provider.http.requests == 3  # not retried


async def test_check_passes_with_the_right_key(provider: ElevenLabsProvider, sim: SimulatorServer) -> None:
    await provider.check()
    assert sim.store.stats["list"] == 1


# ------------------------------------------------------------------ trouble


async def test_faults_and_timeouts_still_give_every_conversation_once() -> None:
    options = SimulatorOptions(conversations=80, seed=9, api_key=KEY, fault_rate=0.3, timeout_hold_secs=2)
    with SimulatorServer("elevenlabs", options) as sim:
        provider = ElevenLabsProvider(KEY, sim.url, page_size=10, max_concurrency=3, timeout=0.5, max_attempts=12)
        provider.http.backoff_base = 0.01
        try:
            items = await list_all(provider)
            details = await asyncio.gather(*(provider.get_conversation(i.provider_conversation_id) for i in items))
        finally:
            await provider.aclose()
        expected = [c["conversation_id"] for c in sim.store.ordered()]
        faults = sim.store.stats["faults"]

    assert [i.provider_conversation_id for i in items] == expected
    assert [d["conversation_id"] for d in details] == expected
    assert faults > 0
    assert provider.http.requests > len(expected) + 8


async def test_rate_limits_are_waited_out() -> None:
    options = SimulatorOptions(
        conversations=40, seed=2, api_key=KEY, max_concurrency=2, latency_ms=20, retry_after_secs=0.05
    )
    with SimulatorServer("elevenlabs", options) as sim:
        provider = ElevenLabsProvider(KEY, sim.url, max_concurrency=8)
        provider.http.backoff_base = 0.01
        try:
            ids = [c["conversation_id"] for c in sim.store.ordered()]
            details = await asyncio.gather(*(provider.get_conversation(pid) for pid in ids))
        finally:
            await provider.aclose()
        limited = sim.store.stats["rate_limited"]

    assert [d["conversation_id"] for d in details] == ids
    assert limited > 0


# ------------------------------------------------------------------ the request itself (mock transport)


def mock(handler: Callable[[httpx.Request], httpx.Response]) -> ElevenLabsProvider:
    provider = ElevenLabsProvider("xi-mock", transport=httpx.MockTransport(handler), max_attempts=2)
    provider.http.backoff_base = 0.0
    return provider


def page(*items: dict[str, Any], next_cursor: str | None = None, has_more: bool = False) -> httpx.Response:
    body = {"conversations": list(items), "next_cursor": next_cursor, "has_more": has_more}
    return httpx.Response(200, content=orjson.dumps(body))


def item(conversation_id: str, start: int, status: str = "done") -> dict[str, Any]:
    return {
        "agent_id": "agent_1",
        "agent_name": "Ava",
        "conversation_id": conversation_id,
        "start_time_unix_secs": start,
        "call_duration_secs": 30,
        "message_count": 4,
        "status": status,
        "call_successful": "success",
    }


async def test_requests_go_to_elevenlabs_with_the_key_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return page(item("conv_1", 1_749_000_000))

    provider = mock(handler)
    try:
        result = await provider.list_page(None)
    finally:
        await provider.aclose()

    assert [i.provider_conversation_id for i in result.items] == ["conv_1"]
    assert result.next_cursor is None
    request = seen[0]
    assert str(request.url).startswith("https://api.elevenlabs.io/v1/convai/conversations?")
    assert request.headers["xi-api-key"] == "xi-mock"
    assert request.url.params["page_size"] == str(VENDOR_MAX_PAGE)
    assert "cursor" not in request.url.params


async def test_since_is_sent_a_second_early_and_the_edge_is_trimmed_here() -> None:
    since = datetime.fromtimestamp(1_749_000_000.5, UTC)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return page(item("conv_new", 1_749_000_100), item("conv_edge", 1_749_000_000), next_cursor="c2", has_more=True)

    provider = mock(handler)
    try:
        result = await provider.list_page("c1", since=since)
    finally:
        await provider.aclose()

    assert seen[0].url.params["call_start_after_unix"] == "1748999999"
    assert seen[0].url.params["cursor"] == "c1"
    assert [i.provider_conversation_id for i in result.items] == ["conv_new"]  # 1_749_000_000 < since
    assert result.next_cursor == "c2"


async def test_no_more_pages_when_the_vendor_says_so() -> None:
    provider = mock(lambda request: page(item("conv_1", 1), next_cursor="stale", has_more=False))
    try:
        assert (await provider.list_page(None)).next_cursor is None
    finally:
        await provider.aclose()


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"conversations": [None]},
        {"conversations": [{"conversation_id": "conv_1"}]},
        {"conversations": [{"conversation_id": "", "start_time_unix_secs": 1}]},
        {"conversations": [{"conversation_id": "conv_1", "start_time_unix_secs": "yesterday"}]},
        {"conversations": [{"conversation_id": "conv_1", "start_time_unix_secs": 1e20}]},
    ],
)
async def test_a_list_of_the_wrong_shape_is_transient(body: dict[str, Any]) -> None:
    provider = mock(lambda request: httpx.Response(200, content=orjson.dumps(body)))
    try:
        with pytest.raises(TransientProviderError):
            await provider.list_page(None)
    finally:
        await provider.aclose()


async def test_a_detail_that_is_not_an_object_is_transient() -> None:
    provider = mock(lambda request: httpx.Response(200, content=b"[]"))
    try:
        with pytest.raises(TransientProviderError):
            await provider.get_conversation("conv_1")
    finally:
        await provider.aclose()


async def test_a_bad_request_is_permanent() -> None:
    provider = mock(lambda request: httpx.Response(422, json={"detail": "page_size"}))
    try:
        with pytest.raises(PermanentProviderError) as info:
            await provider.list_page(None)
    finally:
        await provider.aclose()
    assert info.value.status_code == 422
    assert provider.http.requests == 1


def test_page_size_is_bounded_by_the_vendor() -> None:
    with pytest.raises(ValueError, match="page_size"):
        ElevenLabsProvider("k", page_size=VENDOR_MAX_PAGE + 1)
