"""The ElevenLabs simulator speaks the real API: the official SDK works against it unchanged."""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from elevenlabs.client import ElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.types import ConversationSummaryResponseModel, GetConversationResponseModel
from pydantic import BaseModel

from convhub.providers.base import WebhookRejected
from convhub.providers.elevenlabs import webhooks
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs
from convhub.simulators.common import SimulatorOptions, SimulatorServer, load_vendor
from convhub.simulators.elevenlabs import VENDOR, list_item
from convhub.simulators.generate import generate_audio_bytes

KEY = "sim-el-key"
SECRET = "whsec-for-tests-0123456789"


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer("elevenlabs", SimulatorOptions(conversations=45, seed=12, api_key=KEY)) as server:
        yield server


@pytest.fixture
def sdk(sim: SimulatorServer) -> ElevenLabs:
    return ElevenLabs(base_url=sim.url, api_key=KEY, timeout=10)


def unknown_fields(model: Any, path: str = "body") -> list[str]:
    """Keys the SDK kept as extras, i.e. has no field for: the simulator must not invent any."""
    found: list[str] = []
    if isinstance(model, BaseModel):
        found += [f"{path}.{key}" for key in model.model_extra or {}]
        for name in type(model).model_fields:
            found += unknown_fields(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for i, item in enumerate(model):
            found += unknown_fields(item, f"{path}[{i}]")
    elif isinstance(model, dict):
        for key, item in model.items():
            found += unknown_fields(item, f"{path}.{key}")
    return found


def sdk_list_all(sdk: ElevenLabs, **filters: Any) -> list[ConversationSummaryResponseModel]:
    items: list[ConversationSummaryResponseModel] = []
    cursor: str | None = None
    while True:
        page = sdk.conversational_ai.conversations.list(cursor=cursor, **filters)
        assert unknown_fields(page, "page") == []
        items.extend(page.conversations)
        if not page.has_more:
            assert page.next_cursor is None
            return items
        cursor = page.next_cursor


# ------------------------------------------------------------------ the official SDK


def test_the_sdk_lists_every_page(sim: SimulatorServer, sdk: ElevenLabs) -> None:
    items = sdk_list_all(sdk, page_size=10)

    ordered = sim.store.ordered()
    assert [i.conversation_id for i in items] == [c["conversation_id"] for c in ordered]
    assert sim.store.stats["list"] == math.ceil(45 / 10)
    for item, conv in zip(items, ordered, strict=True):
        assert isinstance(item, ConversationSummaryResponseModel)
        assert item.agent_id == conv["agent_id"]
        assert item.start_time_unix_secs == conv["metadata"]["start_time_unix_secs"]
        assert item.status == conv["status"]
        assert item.message_count == sum(1 for t in conv["transcript"] if t["message"])
        assert item.transcript_summary is None  # summary_mode defaults to "exclude"


def test_the_default_page_holds_30(sdk: ElevenLabs) -> None:
    page = sdk.conversational_ai.conversations.list()
    assert len(page.conversations) == 30 and page.has_more


def test_the_sdk_gets_a_conversation(sim: SimulatorServer, sdk: ElevenLabs) -> None:
    conv = sim.store.ordered()[5]

    detail = sdk.conversational_ai.conversations.get(conv["conversation_id"])

    assert isinstance(detail, GetConversationResponseModel)
    # The SDK builds unions leniently (a system tool result may land in a looser model), so the
    # served body itself is checked strictly.
    assert unknown_fields(GetConversationResponseModel.model_validate(conv)) == []
    assert detail.conversation_id == conv["conversation_id"]
    assert len(detail.transcript) == len(conv["transcript"])
    assert detail.metadata.start_time_unix_secs == conv["metadata"]["start_time_unix_secs"]
    assert sim.store.stats["detail"] == 1


def test_the_sdk_downloads_the_recording(sim: SimulatorServer, sdk: ElevenLabs) -> None:
    conv = next(c for c in sim.store.ordered() if c["has_audio"])

    audio = b"".join(sdk.conversational_ai.conversations.audio.get(conv["conversation_id"]))

    seconds = max(1, min(conv["metadata"]["call_duration_secs"], 30))
    assert audio == generate_audio_bytes(conv["conversation_id"], seconds)
    assert audio.startswith(b"ID3")
    assert sim.store.stats["audio"] == 1


def test_the_sdk_deletes(sim: SimulatorServer, sdk: ElevenLabs) -> None:
    pid = sim.store.ordered()[0]["conversation_id"]

    sdk.conversational_ai.conversations.delete(pid)

    assert sim.store.get(pid) is None
    assert sim.store.stats["delete"] == 1
    with pytest.raises(ApiError) as info:
        sdk.conversational_ai.conversations.get(pid)
    assert info.value.status_code == 404
    assert pid not in {i.conversation_id for i in sdk_list_all(sdk, page_size=100)}


def test_the_sdk_filters_by_time_and_agent(sim: SimulatorServer, sdk: ElevenLabs) -> None:
    ordered = sim.store.ordered()
    after = ordered[30]["metadata"]["start_time_unix_secs"]
    before = ordered[10]["metadata"]["start_time_unix_secs"]
    agent = ordered[0]["agent_id"]

    window = sdk_list_all(sdk, page_size=4, call_start_after_unix=after, call_start_before_unix=before)
    by_agent = sdk_list_all(sdk, page_size=4, agent_id=agent)

    assert [i.conversation_id for i in window] == [
        c["conversation_id"] for c in ordered if after <= c["metadata"]["start_time_unix_secs"] <= before
    ]
    assert [i.conversation_id for i in by_agent] == [c["conversation_id"] for c in ordered if c["agent_id"] == agent]
    assert 0 < len(by_agent) < 45


def test_the_sdk_with_a_wrong_key_gets_401(sim: SimulatorServer) -> None:
    client = ElevenLabs(base_url=sim.url, api_key="wrong", timeout=10)
    with pytest.raises(ApiError) as info:
        client.conversational_ai.conversations.list()
    assert info.value.status_code == 401
    assert sim.store.stats["list"] == 0


# ------------------------------------------------------------------ the API's own rules


def test_unknown_ids_and_missing_recordings_are_404(sim: SimulatorServer) -> None:
    headers = {"xi-api-key": KEY}
    silent = next(c for c in sim.store.ordered() if not c["has_audio"])
    with httpx.Client(base_url=sim.url, headers=headers) as client:
        missing = client.get("/v1/convai/conversations/conv_nope")
        no_audio = client.get(f"/v1/convai/conversations/{silent['conversation_id']}/audio")
        delete_missing = client.delete("/v1/convai/conversations/conv_nope")
    assert missing.status_code == 404
    assert missing.json()["detail"]["status"] == "conversation_not_found"
    assert no_audio.status_code == 404
    assert delete_missing.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": "0"},
        {"page_size": "101"},
        {"page_size": "ten"},
        {"cursor": "not-a-cursor"},
        {"call_start_after_unix": "-1"},
    ],
)
def test_bad_query_parameters_are_422(sim: SimulatorServer, params: dict[str, str]) -> None:
    response = httpx.get(f"{sim.url}/v1/convai/conversations", params=params, headers={"xi-api-key": KEY})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_summaries_come_with_summary_mode_include(sim: SimulatorServer) -> None:
    response = httpx.get(
        f"{sim.url}/v1/convai/conversations",
        params={"summary_mode": "include", "page_size": 100},
        headers={"xi-api-key": KEY},
    )
    summaries = {c["conversation_id"]: c["transcript_summary"] for c in response.json()["conversations"]}
    for conv in sim.store.ordered():
        assert summaries[conv["conversation_id"]] == (conv["analysis"] or {}).get("transcript_summary")


def test_pages_do_not_shift_when_conversations_come_and_go(sim: SimulatorServer, sdk: ElevenLabs) -> None:
    first = sdk.conversational_ai.conversations.list(page_size=10)
    seen = [i.conversation_id for i in first.conversations]
    sim.store.add(5)  # newer than everything: before the cursor
    sim.store.delete(seen[-1])  # the cursor's own item
    rest = sdk_list_all_from(sdk, first.next_cursor)

    expected_rest = [c["conversation_id"] for c in sim.store.ordered() if c["conversation_id"] not in seen]
    expected_rest = expected_rest[5:]  # the five new ones sort before the cursor
    assert rest == expected_rest


def sdk_list_all_from(sdk: ElevenLabs, cursor: str | None) -> list[str]:
    ids: list[str] = []
    while cursor:
        page = sdk.conversational_ai.conversations.list(cursor=cursor, page_size=10)
        ids += [i.conversation_id for i in page.conversations]
        cursor = page.next_cursor
    return ids


# ------------------------------------------------------------------ conversations under way


def test_recent_conversations_are_partly_open_and_finish_validly(sim: SimulatorServer) -> None:
    added = sim.store.add(150)
    open_ones = [c for c in added if not VENDOR.is_final(c)]
    assert open_ones, "a share of fresh conversations should still be under way"
    assert {c["status"] for c in open_ones} <= {"initiated", "in-progress", "processing"}

    finished = httpx.post(f"{sim.url}/_simulator/finish").json()["finished"]

    assert finished == len(open_ones)
    for conv in open_ones:
        done = sim.store.get(conv["conversation_id"])
        assert done is not None and done["status"] == "done"
        assert done["analysis"]["transcript_summary"]
        assert done["metadata"]["call_duration_secs"] > 0
        assert unknown_fields(GetConversationResponseModel.model_validate(done)) == []
        assert conversation_from_elevenlabs(done).ended_at is not None
        assert conv["status"] != "done"  # the original object is left as it was


def test_list_items_validate_for_every_status() -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    bodies = [VENDOR.generate(i, seed=3, agents=4, start=start, span_days=0) for i in range(300)]
    assert {b["status"] for b in bodies} == {"initiated", "in-progress", "processing", "done", "failed"}
    for body in bodies:
        item = ConversationSummaryResponseModel.model_validate(list_item(body, include_summary=True))
        assert unknown_fields(item) == []


# ------------------------------------------------------------------ webhooks


def final_with_audio(sim: SimulatorServer) -> dict[str, Any]:
    return next(c for c in sim.store.ordered() if c["has_audio"] and c["status"] == "done")


def test_webhooks_are_a_signed_transcription_then_the_audio(sim: SimulatorServer) -> None:
    conv = final_with_audio(sim)
    now = datetime.now(UTC)

    deliveries = VENDOR.webhook_deliveries(conv, SECRET, now)

    assert len(deliveries) == 2
    events = []
    for headers, body in deliveries:
        webhooks.verify(headers, body, api_key=KEY, secret=SECRET, options={}, now=now.timestamp())
        events.append(webhooks.parse(body))
    transcription, audio = events
    assert transcription.event_type == "post_call_transcription"
    assert transcription.conversation == conv
    assert audio.event_type == "post_call_audio"
    assert audio.provider_conversation_id == conv["conversation_id"]
    seconds = max(1, min(conv["metadata"]["call_duration_secs"], 30))
    assert base64.b64decode(audio.audio_base64 or "") == generate_audio_bytes(conv["conversation_id"], seconds)
    assert orjson.loads(deliveries[0][1])["event_timestamp"] == int(now.timestamp())


def test_webhooks_fail_verification_with_another_secret(sim: SimulatorServer) -> None:
    headers, body = VENDOR.webhook_deliveries(final_with_audio(sim), SECRET, datetime.now(UTC))[0]
    with pytest.raises(WebhookRejected):
        webhooks.verify(headers, body, api_key=KEY, secret="another", options={}, now=datetime.now(UTC).timestamp())


def test_no_audio_no_audio_webhook_and_open_calls_send_nothing(sim: SimulatorServer) -> None:
    silent = next(c for c in sim.store.ordered() if not c["has_audio"] and VENDOR.is_final(c))
    assert [orjson.loads(b)["type"] for _, b in VENDOR.webhook_deliveries(silent, SECRET, datetime.now(UTC))] == [
        "post_call_transcription"
    ]
    start = datetime.now(UTC)
    under_way = next(
        b
        for i in range(200)
        if not VENDOR.is_final(b := VENDOR.generate(i, seed=1, agents=3, start=start, span_days=0))
    )
    assert VENDOR.webhook_deliveries(under_way, SECRET, datetime.now(UTC)) == []


def test_the_vendor_is_found_by_name_and_audio_is_binary() -> None:
    assert load_vendor("elevenlabs") is VENDOR
    assert VENDOR.is_binary("/v1/convai/conversations/conv_1/audio")
    assert not VENDOR.is_binary("/v1/convai/conversations/conv_1")
    assert not VENDOR.is_binary("/v1/convai/conversations")
