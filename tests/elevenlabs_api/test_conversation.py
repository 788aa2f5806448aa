"""One conversation through the official SDK: get, audio, feedback, delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import UnprocessableEntityError
from elevenlabs.types import GetConversationResponseModel, GetConversationsPageResponseModel

from convhub.auth.service import get_workspace
from convhub.conversations.schemas import AgentRef, TurnIn
from convhub.conversations.service import get_conversation
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs
from convhub.simulators.generate import generate_audio_bytes, generate_elevenlabs_conversation
from tests.elevenlabs_api.conftest import WORKSPACE, LiveServer
from tests.factories import attach_audio, make_conversation

# A finished Twilio call with tool calls and per-turn feedback, as ElevenLabs sends it.
EL_BODY = generate_elevenlabs_conversation(13)

pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated")  # inside the SDK


def _attach(server: LiveServer, conversation_id: str, data: bytes) -> None:
    async def attach() -> None:
        async with server.app.state.db.session() as session:
            workspace = await get_workspace(session, WORKSPACE)
            conv = await get_conversation(session, workspace.id, conversation_id)
            await attach_audio(session, conv, server.app.state.blobs, data)

    server.call(attach())


def _not_found(excinfo: pytest.ExceptionInfo[ApiError]) -> str:
    """The message of a 404 in convhub's (and ElevenLabs') error shape."""
    assert excinfo.value.status_code == 404
    assert excinfo.value.body["detail"]["status"] == "not_found"
    return str(excinfo.value.body["detail"]["message"])


def test_get_an_elevenlabs_conversation_by_either_id(server: LiveServer, sdk: ElevenLabs, http: httpx.Client) -> None:
    [conv_id] = server.ingest(WORKSPACE, [conversation_from_elevenlabs(EL_BODY)])
    conversations = sdk.conversational_ai.conversations
    by_ours = conversations.get(conv_id)
    by_theirs = conversations.get(EL_BODY["conversation_id"])
    assert by_ours == by_theirs
    assert by_ours.conversation_id == conv_id

    meta, el_meta = by_ours.metadata, EL_BODY["metadata"]
    assert (by_ours.status, meta.start_time_unix_secs, meta.call_duration_secs) == (
        "done", el_meta["start_time_unix_secs"], el_meta["call_duration_secs"])
    assert meta.cost == el_meta["cost"]  # credits, as ElevenLabs reported them
    assert meta.main_language == el_meta["main_language"]
    phone = meta.phone_call
    assert phone is not None and phone.type == "twilio"
    assert (phone.direction, phone.agent_number, phone.external_number, phone.call_sid, phone.stream_sid) == tuple(
        el_meta["phone_call"][k] for k in ("direction", "agent_number", "external_number", "call_sid", "stream_sid"))

    assert [t.role for t in by_ours.transcript] == [t["role"] for t in EL_BODY["transcript"]]
    assert [t.message for t in by_ours.transcript] == [t["message"] for t in EL_BODY["transcript"]]
    calls = [c for t in by_ours.transcript for c in t.tool_calls or []]
    el_calls = [c for t in EL_BODY["transcript"] for c in t["tool_calls"]]
    assert [(c.request_id, c.tool_name, c.params_as_json) for c in calls] == [
        (c["request_id"], c["tool_name"], c["params_as_json"]) for c in el_calls]
    feedback = [(t.feedback.score, t.feedback.time_in_call_secs) for t in by_ours.transcript if t.feedback]
    assert feedback == [(t["feedback"]["score"], t["feedback"]["time_in_call_secs"])
                        for t in EL_BODY["transcript"] if t.get("feedback")]
    assert feedback  # the chosen body has some

    analysis, el_analysis = by_ours.analysis, EL_BODY["analysis"]
    assert analysis is not None
    assert analysis.call_successful == el_analysis["call_successful"]
    assert analysis.transcript_summary == el_analysis["transcript_summary"]
    assert set(analysis.evaluation_criteria_results or {}) == set(el_analysis["evaluation_criteria_results"])
    assert {k: v.value for k, v in (analysis.data_collection_results or {}).items()} == {
        k: v["value"] for k, v in el_analysis["data_collection_results"].items()}
    client_data = by_ours.conversation_initiation_client_data
    assert client_data is not None
    assert client_data.dynamic_variables == EL_BODY["conversation_initiation_client_data"]["dynamic_variables"]
    # ElevenLabs had audio, but convhub holds none yet, so …/audio would not answer.
    assert (by_ours.has_audio, by_ours.has_user_audio, by_ours.has_response_audio) == (False, False, False)

    # Strict clients validate: the body must satisfy the SDK's models, not just be read leniently by them.
    GetConversationResponseModel.model_validate(http.get(f"/v1/convai/conversations/{conv_id}").json())
    GetConversationsPageResponseModel.model_validate(http.get("/v1/convai/conversations").json())


def test_get_maps_roles_onto_user_and_agent(server: LiveServer, sdk: ElevenLabs, http: httpx.Client) -> None:
    turns = [
        TurnIn(role="user", message="Can I talk to a person?", time_in_call_secs=1.6, feedback="dislike"),
        TurnIn(role="system", message="operator joined", time_in_call_secs=2),
        TurnIn(role="human_operator", message="Hi, this is Dana.", time_in_call_secs=3, source_medium="text"),
        TurnIn(role="tool", message="{}", time_in_call_secs=4,
               tool_results=[{"id": "call_1", "name": "crm_lookup", "output": {"tier": "gold"}}]),
        TurnIn(role="tool", message="nothing to show", time_in_call_secs=5),
        TurnIn(role="agent", message="Bye.", time_in_call_secs=6, interrupted=True, source_medium="weird"),
    ]
    conv = make_conversation(provider="retell", agent=AgentRef(provider_agent_id="ag_r"), turns=turns,
                             channel="web", direction=None, rating=4, cost_cents=12.5,
                             cost_raw={"amount": 0.125, "unit": "usd"})
    [conv_id] = server.ingest(WORKSPACE, [conv])
    got = sdk.conversational_ai.conversations.get(conv_id)
    assert [(t.role, t.message) for t in got.transcript] == [
        ("user", "Can I talk to a person?"), ("agent", "Hi, this is Dana."), ("agent", None), ("agent", "Bye.")]
    user, operator, tool, agent = got.transcript
    assert user.feedback is not None and (user.feedback.score, user.feedback.time_in_call_secs) == ("dislike", 2)
    assert operator.source_medium == "text"
    assert tool.tool_results is not None
    [result] = tool.tool_results
    assert (result.request_id, result.tool_name, result.result_value) == ("call_1", "crm_lookup", '{"tier": "gold"}')
    assert (agent.interrupted, agent.source_medium) == (True, None)
    assert got.metadata.phone_call is None  # not a phone call
    assert (got.metadata.cost, got.metadata.cost_fiat) == (None, 0.125)  # USD, not credits
    assert got.metadata.feedback is not None
    assert (got.metadata.feedback.type, got.metadata.feedback.rating) == ("rating", 4)
    # Retell ids are not ElevenLabs ids: only convhub's id names this conversation here.
    with pytest.raises(ApiError) as excinfo:
        sdk.conversational_ai.conversations.get(conv.provider_conversation_id)
    _not_found(excinfo)
    GetConversationResponseModel.model_validate(http.get(f"/v1/convai/conversations/{conv_id}").json())


def test_audio_streams_what_convhub_holds(server: LiveServer, sdk: ElevenLabs, http: httpx.Client) -> None:
    with_audio, without = server.ingest(WORKSPACE, [make_conversation(has_audio=True), make_conversation()])
    audio = generate_audio_bytes(with_audio, seconds=30)  # several chunks
    _attach(server, with_audio, audio)
    conversations = sdk.conversational_ai.conversations
    assert b"".join(conversations.audio.get(with_audio)) == audio
    assert conversations.get(with_audio).has_audio is True
    response = http.get(f"/v1/convai/conversations/{with_audio}/audio")
    assert response.headers["content-type"] == "audio/mpeg"

    assert conversations.get(without).has_audio is False
    with pytest.raises(ApiError) as excinfo:
        b"".join(conversations.audio.get(without))
    assert _not_found(excinfo) == "This conversation has no audio."


def test_feedback_shows_in_metadata(server: LiveServer, sdk: ElevenLabs) -> None:
    [conv_id] = server.ingest(WORKSPACE, [make_conversation()])
    conversations = sdk.conversational_ai.conversations

    def feedback() -> tuple[Any, ...]:
        fb = conversations.get(conv_id).metadata.feedback
        assert fb is not None
        return fb.type, fb.overall_score, fb.likes, fb.dislikes

    assert feedback() == (None, None, 0, 0)
    conversations.feedback.create(conv_id, feedback="like")
    assert feedback() == ("thumbs", "like", 1, 0)
    conversations.feedback.create(conv_id, feedback="like")  # the same again changes nothing
    assert feedback() == ("thumbs", "like", 1, 0)
    conversations.feedback.create(conv_id, feedback="dislike")
    assert feedback() == ("thumbs", "dislike", 0, 1)
    conversations.feedback.create(conv_id, feedback=None)
    assert feedback() == (None, None, 0, 0)
    with pytest.raises(UnprocessableEntityError) as excinfo:
        conversations.feedback.create(conv_id, feedback="meh")
    assert excinfo.value.body["detail"][0]["loc"] == ["body", "feedback"]
    with pytest.raises(ApiError) as missing:
        conversations.feedback.create("conv_missing", feedback="like")
    _not_found(missing)


def test_delete_then_get_is_not_found(server: LiveServer, sdk: ElevenLabs) -> None:
    doomed, kept = server.ingest(WORKSPACE, [make_conversation(), make_conversation()])
    _attach(server, doomed, b"ID3 audio")
    conversations = sdk.conversational_ai.conversations
    assert conversations.delete(doomed) == {}
    # ElevenLabs' SDK maps only 422 to a class of its own on these methods; a 404 is its ApiError.
    with pytest.raises(ApiError) as excinfo:
        conversations.get(doomed)
    assert doomed in _not_found(excinfo)
    with pytest.raises(ApiError) as again:
        conversations.delete(doomed)
    _not_found(again)
    with pytest.raises(ApiError) as audio:
        b"".join(conversations.audio.get(doomed))
    _not_found(audio)
    assert [c.conversation_id for c in conversations.list().conversations] == [kept]


def test_conversations_of_other_workspaces_are_invisible(server: LiveServer, sdk: ElevenLabs) -> None:
    el_conv = conversation_from_elevenlabs(EL_BODY)
    [theirs] = server.ingest("elsewhere", [el_conv])
    conversations = sdk.conversational_ai.conversations
    for ref in (theirs, el_conv.provider_conversation_id):
        with pytest.raises(ApiError) as excinfo:
            conversations.get(ref)
        _not_found(excinfo)
    with pytest.raises(ApiError) as delete:
        conversations.delete(theirs)
    _not_found(delete)
    assert conversations.list().conversations == []
