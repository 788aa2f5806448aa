"""``client.conversations``: what each method sends and what it gives back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from convhub.client import AsyncClient, Client, ConversationDetail, NotFoundError

from .conftest import Recorder, conversation_json, error_response, turn_json


def detail_json(id: str = "conv_1") -> dict[str, object]:
    return {
        **conversation_json(id, metadata={"team": "billing"}),
        "evaluation_results": [{"criteria_id": "resolved", "result": "success", "rationale": "ok"}],
        "data_collection": [{"data_collection_id": "email", "value": "a@b.c", "rationale": ""}],
        "transcript": [turn_json(0, "agent", "Hi!"), turn_json(1, "user", "My bill is wrong")],
    }


def test_get_returns_the_detail_with_transcript(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json=detail_json()))

    conversation = make_client(recorder).conversations.get("conv_1")

    assert recorder.requests[0].method == "GET"
    assert recorder.requests[0].url.path == "/v1/conversations/conv_1"
    assert isinstance(conversation, ConversationDetail)
    assert conversation.started_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert conversation.duration_secs == 120
    assert conversation.metadata == {"team": "billing"}
    assert [(t.role, t.message) for t in conversation.transcript] == [
        ("agent", "Hi!"),
        ("user", "My bill is wrong"),
    ]
    assert conversation.evaluation_results[0].result == "success"
    assert conversation.data_collection[0].value == "a@b.c"


def test_fields_unknown_to_the_sdk_are_kept(make_client: Callable[..., Client]) -> None:
    body = {**detail_json(), "added_in_a_later_server": {"x": 1}, "status": "brand-new-status"}
    conversation = make_client(Recorder(httpx.Response(200, json=body))).conversations.get("conv_1")

    assert conversation.status == "brand-new-status"
    assert conversation.model_extra == {"added_in_a_later_server": {"x": 1}}


def test_ids_are_escaped_in_the_path(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json=detail_json()))

    make_client(recorder).conversations.get("a/b?c")

    assert recorder.requests[0].url.raw_path == b"/v1/conversations/a%2Fb%3Fc"


def test_an_empty_id_is_refused_before_any_request(make_client: Callable[..., Client]) -> None:
    recorder = Recorder()
    client = make_client(recorder)

    with pytest.raises(ValueError):
        client.conversations.get("")
    with pytest.raises(ValueError):
        client.conversations.send_feedback("", "like")
    assert recorder.requests == []


def test_transcript_returns_the_turns(make_client: Callable[..., Client]) -> None:
    body = {
        "conversation_id": "conv_1",
        "turns": [turn_json(0, "agent", "Hello"), turn_json(1, "user", "Hi")],
    }
    recorder = Recorder(httpx.Response(200, json=body))

    turns = make_client(recorder).conversations.transcript("conv_1")

    assert recorder.requests[0].url.path == "/v1/conversations/conv_1/transcript"
    assert [(t.index, t.role, t.message) for t in turns] == [(0, "agent", "Hello"), (1, "user", "Hi")]


def test_update_patches_metadata_and_returns_the_conversation(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json=conversation_json(metadata={"team": "sales"})))

    conversation = make_client(recorder).conversations.update("conv_1", metadata={"team": "sales", "old": None})

    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("PATCH", "/v1/conversations/conv_1")
    assert json.loads(request.content) == {"metadata": {"team": "sales", "old": None}}
    assert conversation.metadata == {"team": "sales"}


def test_delete_sends_delete_and_returns_none(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(204))

    make_client(recorder).conversations.delete("conv_1")

    assert (recorder.requests[0].method, recorder.requests[0].url.path) == (
        "DELETE",
        "/v1/conversations/conv_1",
    )


def test_active_lists_ongoing_conversations(make_client: Callable[..., Client]) -> None:
    body = {"data": [conversation_json("live_1", status="in-progress")]}
    recorder = Recorder(httpx.Response(200, json=body))

    active = make_client(recorder).conversations.active()

    assert recorder.requests[0].url.path == "/v1/conversations/active"
    assert [(c.id, c.status) for c in active] == [("live_1", "in-progress")]


def test_get_audio_returns_the_bytes(make_client: Callable[..., Client]) -> None:
    audio = b"ID3\x04\x00fake-mp3"
    recorder = Recorder(httpx.Response(200, content=audio, headers={"content-type": "audio/mpeg"}))

    assert make_client(recorder).conversations.get_audio("conv_1") == audio
    assert recorder.requests[0].url.path == "/v1/conversations/conv_1/audio"
    assert recorder.requests[0].headers["Accept"] == "audio/mpeg"


def test_get_audio_without_a_recording_is_not_found(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(error_response(404, "No audio for this conversation"))

    with pytest.raises(NotFoundError, match="No audio"):
        make_client(recorder).conversations.get_audio("conv_1")


def test_download_audio_streams_to_a_file(make_client: Callable[..., Client], tmp_path: Path) -> None:
    audio = bytes(range(256)) * 1000
    recorder = Recorder(httpx.Response(200, content=audio))

    path = make_client(recorder).conversations.download_audio("conv_1", tmp_path / "call.mp3")

    assert path == tmp_path / "call.mp3"
    assert path.read_bytes() == audio


def test_get_signed_url(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json={"signed_url": "wss://hub/live?token=abc"}))

    url = make_client(recorder).conversations.get_signed_url("agent_1", include_conversation_id=True)

    request = recorder.requests[0]
    assert url == "wss://hub/live?token=abc"
    assert request.url.path == "/v1/convai/conversation/get-signed-url"
    assert dict(request.url.params) == {"agent_id": "agent_1", "include_conversation_id": "true"}


def test_get_token(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(
        httpx.Response(200, json={"token": "tok_1"}),
        httpx.Response(200, json={"token": "tok_2"}),
    )
    client = make_client(recorder)

    assert client.conversations.get_token("agent_1", participant_name="Support Session") == "tok_1"
    assert client.conversations.get_token("agent_1") == "tok_2"

    first, second = recorder.requests
    assert first.url.path == "/v1/convai/conversation/token"
    assert dict(first.url.params) == {"agent_id": "agent_1", "participant_name": "Support Session"}
    assert dict(second.url.params) == {"agent_id": "agent_1"}


def test_send_feedback_posts_like_or_dislike(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json={}), httpx.Response(200, json={}))
    client = make_client(recorder)

    client.conversations.send_feedback("conv_1", "like")
    client.conversations.send_feedback("conv_1", "dislike")

    assert [r.method for r in recorder.requests] == ["POST", "POST"]
    assert recorder.requests[0].url.path == "/v1/convai/conversations/conv_1/feedback"
    assert [json.loads(r.content) for r in recorder.requests] == [
        {"feedback": "like"},
        {"feedback": "dislike"},
    ]


# ---------------------------------------------------------------- async mirror


async def test_async_resource_methods(make_async_client: Callable[..., AsyncClient], tmp_path: Path) -> None:
    recorder = Recorder(
        httpx.Response(200, json=detail_json()),
        httpx.Response(200, json={"conversation_id": "conv_1", "turns": [turn_json(0)]}),
        httpx.Response(200, json=conversation_json(metadata={"k": "v"})),
        httpx.Response(200, json={"data": []}),
        httpx.Response(200, content=b"mp3"),
        httpx.Response(200, content=b"streamed mp3"),
        httpx.Response(200, json={"signed_url": "wss://x"}),
        httpx.Response(200, json={"token": "tok"}),
        httpx.Response(200, json={}),
        httpx.Response(204),
    )
    conversations = make_async_client(recorder).conversations

    assert (await conversations.get("conv_1")).transcript[0].message == "Hi!"
    assert [t.message for t in await conversations.transcript("conv_1")] == ["hello"]
    assert (await conversations.update("conv_1", metadata={"k": "v"})).metadata == {"k": "v"}
    assert await conversations.active() == []
    assert await conversations.get_audio("conv_1") == b"mp3"
    path = await conversations.download_audio("conv_1", tmp_path / "a.mp3")
    assert path.read_bytes() == b"streamed mp3"
    assert await conversations.get_signed_url("agent_1") == "wss://x"
    assert await conversations.get_token("agent_1") == "tok"
    await conversations.send_feedback("conv_1", "like")
    await conversations.delete("conv_1")

    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("GET", "/v1/conversations/conv_1"),
        ("GET", "/v1/conversations/conv_1/transcript"),
        ("PATCH", "/v1/conversations/conv_1"),
        ("GET", "/v1/conversations/active"),
        ("GET", "/v1/conversations/conv_1/audio"),
        ("GET", "/v1/conversations/conv_1/audio"),
        ("GET", "/v1/convai/conversation/get-signed-url"),
        ("GET", "/v1/convai/conversation/token"),
        ("POST", "/v1/convai/conversations/conv_1/feedback"),
        ("DELETE", "/v1/conversations/conv_1"),
    ]
    assert recorder.requests[6].url.params["include_conversation_id"] == "false"
