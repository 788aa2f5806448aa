"""The realtime WebSocket (/v1/convai/conversation) on a real server: how it opens, what it speaks, what it stores.

Raw protocol tests use the ``websockets`` client the official SDK itself uses;
tests/live/test_realtime_sdk.py drives the SDK's ``Conversation`` class.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from convhub.chats.tasks import end_idle_chats
from convhub.config import Settings
from convhub.conversations.schemas import AgentRef, ConversationIn, Status
from convhub.elevenlabs_api.signing import sign_conversation_url, verify_conversation_signature
from convhub.errors import ProviderUnavailable
from convhub.kit.time import utcnow
from convhub.models import Conversation
from tests.chats.helpers import REFUNDS, ScriptedBackend, use_backend
from tests.conftest import LiveServer

INIT = {"type": "conversation_initiation_client_data"}


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings.model_copy(update={"realtime_ping_secs": 0.3}))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"xi-api-key": server.key()}, timeout=10) as client:
        yield client


def make_agent(api: httpx.Client, **fields: Any) -> str:
    created = api.post("/v1/agents", json={"name": "Helper", **fields})
    assert created.status_code == 201, created.text
    agent_id: str = created.json()["id"]
    added = api.post(f"/v1/agents/{agent_id}/documents", json={"name": "help.md", "content": REFUNDS})
    assert added.status_code == 201, added.text
    return agent_id


@pytest.fixture
def agent(api: httpx.Client) -> str:
    return make_agent(api)


def signed_url(api: httpx.Client, agent_id: str, **params: Any) -> str:
    response = api.get("/v1/convai/conversation/get-signed-url", params={"agent_id": agent_id, **params})
    assert response.status_code == 200, response.text
    url: str = response.json()["signed_url"]
    return url


def ws_url(server: LiveServer, **params: str) -> str:
    return f"ws://127.0.0.1:{server.port}/v1/convai/conversation?{urlencode(params)}"


def receive(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return event


def until(ws: ClientConnection, kind: str, *, skip_pings: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The next event of type ``kind`` (within 10 s), and the events before it (pings left out)."""
    before: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while True:
        event = receive(ws, timeout=max(0.01, deadline - time.monotonic()))
        if event["type"] == kind:
            return event, before
        if not (skip_pings and event["type"] == "ping"):
            before.append(event)


def start(ws: ClientConnection, **init: Any) -> str:
    ws.send(json.dumps({**INIT, **init}))
    event, _ = until(ws, "conversation_initiation_metadata")
    conversation_id: str = event["conversation_initiation_metadata_event"]["conversation_id"]
    return conversation_id


def say(ws: ClientConnection, text: str) -> tuple[str, list[dict[str, Any]]]:
    """Send a user message; the agent's whole reply and the parts streamed before it."""
    ws.send(json.dumps({"type": "user_message", "text": text}))
    event, before = until(ws, "agent_response")
    reply: str = event["agent_response_event"]["agent_response"]
    return reply, [e for e in before if e["type"] == "agent_chat_response_part"]


def refused(url: str, **headers: str) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as info, connect(url, additional_headers=headers, open_timeout=10):
        pass
    response = info.value.response
    return response.status_code, json.loads(bytes(response.body or b"{}"))


def eventually(check: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def conversation(api: httpx.Client, conversation_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def transcript(api: httpx.Client, conversation_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/conversations/{conversation_id}/messages", params={"limit": 200})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


# ---------------------------------------------------------------- opening


def test_signed_url_opens_a_conversation_stored_like_any_other(api: httpx.Client, agent: str) -> None:
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws, user_id="user-7")
        reply, parts = say(ws, "How long do refunds take?")
        assert "five working days" in reply
        assert [p["text_response_part"]["type"] for p in (parts[0], parts[-1])] == ["start", "stop"]
        deltas = [p["text_response_part"]["text"] for p in parts if p["text_response_part"]["type"] == "delta"]
        assert len(deltas) > 3 and "".join(deltas) == reply
        # Visible at once through both APIs, while the socket is still open.
        native = transcript(api, conversation_id)
        assert [(m["role"], m["content"]) for m in native] == [("user", "How long do refunds take?"), ("agent", reply)]
        el = api.get(f"/v1/convai/conversations/{conversation_id}")
        assert el.status_code == 200
        assert [t["message"] for t in el.json()["transcript"]] == ["How long do refunds take?", reply]
        assert conversation(api, conversation_id)["status"] == "in-progress"
    ended = eventually(lambda: (c := conversation(api, conversation_id))["status"] == "done" and c)
    assert ended["termination_reason"] == "client_disconnected"
    assert ended["user_id"] == "user-7" and ended["provider"] == "convhub" and ended["channel"] == "chat"


def test_each_reply_comes_with_the_message_id_that_rates_it(api: httpx.Client, agent: str) -> None:
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        ws.send(json.dumps({"type": "user_message", "text": "How long do refunds take?"}))
        event, _ = until(ws, "agent_response")
        message_id = event["agent_response_event"]["message_id"]
        assert message_id.startswith("msg_") and transcript(api, conversation_id)[-1]["id"] == message_id
        rated = api.post(f"/v1/messages/{message_id}/rating", json={"rating": 5, "feedback": "Quick"})
        assert rated.status_code == 200, rated.text
        assert (rated.json()["id"], rated.json()["rating"]) == (message_id, 5)


def test_expired_signature_is_refused(server: LiveServer, api: httpx.Client, agent: str) -> None:
    query = parse_qs(urlsplit(signed_url(api, agent)).query)
    # The same grant, signed with the server's secret, but an hour stale.
    secret = server.app.state.settings.resolved_secret_key
    grant = verify_conversation_signature(secret, query["conversation_signature"][0], agent)
    assert grant is not None
    stale = sign_conversation_url(secret, ws_base_url=f"ws://127.0.0.1:{server.port}", workspace_id=grant.workspace_id,
                                  agent_id=agent, include_conversation_id=False, ttl_secs=60,
                                  now=time.time() - 3600)
    status, body = refused(stale)
    assert status == 401
    assert "expired" in body["detail"]["message"] and "get-signed-url" in body["detail"]["message"]


def test_tampered_signature_is_refused_and_stores_nothing(api: httpx.Client, agent: str) -> None:
    url = signed_url(api, agent, include_conversation_id="true")
    head, signature = url.split("conversation_signature=")
    tampered = signature[:-3] + ("AAA" if not signature.endswith("AAA") else "BBB")
    assert refused(head + "conversation_signature=" + tampered)[0] == 401
    # Another agent's signature does not open this one.
    other = make_agent(api, name="Other")
    foreign = signed_url(api, other).split("conversation_signature=")[1]
    assert refused(head + "conversation_signature=" + foreign)[0] == 401
    assert api.get("/v1/conversations").json()["data"] == []


def test_a_signed_url_naming_a_conversation_works_once(api: httpx.Client, agent: str) -> None:
    url = signed_url(api, agent, include_conversation_id="true")
    with connect(url) as ws:
        first = start(ws)
        say(ws, "Hello")
    status, body = refused(url)
    assert status == 409 and "works once" in body["detail"]["message"]
    # One without a conversation id opens a new conversation each time until it expires.
    reusable = signed_url(api, agent)
    opened = set()
    for _ in range(2):
        with connect(reusable) as ws:
            opened.add(start(ws))
    assert len(opened) == 2 and first not in opened


def test_token_opens_once_and_names_the_participant(server: LiveServer, api: httpx.Client, agent: str) -> None:
    response = api.get("/v1/convai/conversation/token", params={"agent_id": agent, "participant_name": "Ada"})
    token = response.json()["token"]
    url = ws_url(server, agent_id=agent, token=token)
    with connect(url) as ws:
        conversation_id = start(ws)
        reply, _ = say(ws, "Where do orders ship from?")
        assert "Rotterdam" in reply
    assert conversation(api, conversation_id)["title"] == "Ada"
    assert refused(url)[0] == 409
    assert refused(ws_url(server, agent_id=agent, token=token[:-2] + "xx"))[0] == 401
    other = make_agent(api, name="Other")
    assert refused(ws_url(server, agent_id=other, token=token))[0] == 401


def test_private_agent_needs_a_credential_public_one_does_not(server: LiveServer, api: httpx.Client,
                                                              agent: str) -> None:
    status, body = refused(ws_url(server, agent_id=agent))
    assert status == 401 and "not public" in body["detail"]["message"]
    public = make_agent(api, name="Widget", public=True)
    with connect(ws_url(server, agent_id=public)) as ws:
        conversation_id = start(ws)
        assert "five working days" in say(ws, "refund time?")[0]
    assert conversation(api, conversation_id)["agent_id"] == public
    assert refused(ws_url(server, agent_id="agt_nope"))[0] == 401
    assert refused(ws_url(server))[0] == 422
    assert refused(ws_url(server, agent_id="agt\x00x"))[0] == 422
    assert refused(ws_url(server, agent_id="a" * 201))[0] == 422


def test_api_key_header_opens_with_the_write_scope(server: LiveServer, agent: str) -> None:
    url = ws_url(server, agent_id=agent)
    with connect(url, additional_headers={"xi-api-key": server.key()}) as ws:
        start(ws)
    assert refused(url, **{"xi-api-key": server.key(scopes="conversations:read")})[0] == 403
    assert refused(url, **{"xi-api-key": "nope"})[0] == 401
    # A key of another workspace does not reach this workspace's agent.
    assert refused(url, **{"xi-api-key": server.key(workspace="other")})[0] == 404


def test_agent_that_mirrors_a_provider_is_refused(server: LiveServer, api: httpx.Client) -> None:
    server.ingest("default", [ConversationIn(provider="elevenlabs", provider_conversation_id="c1",
                                             agent=AgentRef(provider_agent_id="el-agent", name="Voice"),
                                             status=Status.done, started_at=datetime.now(UTC))])
    mirrored = next(a["id"] for a in api.get("/v1/agents").json()["data"] if a["provider"] == "elevenlabs")
    status, body = refused(ws_url(server, agent_id=mirrored), **{"xi-api-key": server.key()})
    assert status == 422 and "native agent" in body["detail"][0]["msg"]


# ---------------------------------------------------------------- the protocol


def test_initiation_applies_variables_first_message_and_prompt(monkeypatch: pytest.MonkeyPatch,
                                                               api: httpx.Client, agent: str) -> None:
    backend = ScriptedBackend(words=("Sure", "."))
    use_backend(monkeypatch, backend)
    with connect(signed_url(api, agent)) as ws:
        ws.send(json.dumps({**INIT, "dynamic_variables": {"name": "Ada", "plan": "pro", "vip": True},
                            "conversation_config_override": {
                                "agent": {"first_message": "Hi {{name}}, welcome back!",
                                          "prompt": {"prompt": "You help {{name}} on the {{plan}} plan."},
                                          "language": "en"},
                                "tts": {"voice_id": "abc"}, "text_only": True}}))
        meta, _ = until(ws, "conversation_initiation_metadata")
        conversation_id = meta["conversation_initiation_metadata_event"]["conversation_id"]
        notice, _ = until(ws, "error")
        assert notice["error_event"]["code"] == "unsupported_override"
        assert "tts.voice_id" in notice["error_event"]["message"]
        greeting, _ = until(ws, "agent_response")
        assert greeting["agent_response_event"]["agent_response"] == "Hi Ada, welcome back!"
        assert say(ws, "Can I upgrade?")[0] == "Sure."
    system = [m.content for m in backend.seen[0] if m.role == "system"]
    assert system[0] == "You help Ada on the pro plan."
    assert '"name":"Ada"' in system[1]
    stored = conversation(api, conversation_id)
    assert stored["metadata"] == {"name": "Ada", "plan": "pro", "vip": True, "language": "en"}
    first = transcript(api, conversation_id)[0]
    assert (first["content"], first["id"]) == ("Hi Ada, welcome back!", greeting["agent_response_event"]["message_id"])


def test_contextual_update_reaches_the_agent_without_a_reply(monkeypatch: pytest.MonkeyPatch,
                                                             api: httpx.Client, agent: str) -> None:
    backend = ScriptedBackend(words=("Noted", "."))
    use_backend(monkeypatch, backend)
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        ws.send(json.dumps({"type": "contextual_update", "text": "The user opened the billing page."}))
        ws.send(json.dumps({"type": "user_activity"}))
        say(ws, "What now?")
        assert len(backend.seen) == 1  # the update asked for no reply of its own
    notes = [m.content for m in backend.seen[0] if m.role == "system" and "billing page" in m.content]
    assert notes and "The user opened the billing page." in notes[0]
    roles = [(m["role"], m["content"]) for m in transcript(api, conversation_id)]
    assert roles[0] == ("system", "The user opened the billing page.")


def test_user_activity_keeps_the_conversation_from_the_inactivity_job(server: LiveServer, api: httpx.Client,
                                                                    agent: str) -> None:
    async def age(conversation_id: str) -> None:
        async with server.app.state.db.session() as session:
            await session.execute(update(Conversation).where(Conversation.id == conversation_id)
                                  .values(last_activity_at=utcnow() - timedelta(hours=1)))

    async def end_idle() -> list[str]:
        return [chat.id for chat in await end_idle_chats(server.app.state.db, server.app.state, 30)]

    with connect(signed_url(api, agent)) as active, connect(signed_url(api, agent)) as idle:
        kept, dropped = start(active), start(idle)
        server.call(age(kept))
        server.call(age(dropped))
        active.send(json.dumps({"type": "user_activity"}))
        say(active, "refund time?")  # answered after the activity was applied: frames are read in order
        assert server.call(end_idle()) == [dropped]
        with pytest.raises(ConnectionClosed):
            until(idle, "never")  # the job ended it, so convhub closed its socket
    assert conversation(api, dropped)["termination_reason"] == "inactivity"


def test_unsupported_and_malformed_frames_get_errors_and_the_socket_stays_open(api: httpx.Client,
                                                                               agent: str) -> None:
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        cases = [
            ({"user_audio_chunk": "AAAA"}, "unsupported_event", "text-only"),
            ({"type": "client_tool_result", "tool_call_id": "x"}, "unsupported_event", "tools"),
            ({"type": "dance"}, "unsupported_event", "Unknown event type"),
            ({"type": "user_message", "text": "   "}, "invalid_message", "non-empty"),
            ({"type": "user_message", "text": "x" * 20_001}, "invalid_message", "limit"),
            (INIT, "already_started", "once"),
            ({"type": "pong"}, "invalid_message", "event_id"),
        ]
        for frame, code, words in cases:
            ws.send(json.dumps(frame))
            event, _ = until(ws, "error")
            assert event["error_event"]["code"] == code, frame
            assert words in event["error_event"]["message"], frame
        ws.send("not json")
        assert until(ws, "error")[0]["error_event"]["code"] == "invalid_message"
        ws.send(b"\x00\x01")
        assert "Binary" in until(ws, "error")[0]["error_event"]["message"]
        assert "five working days" in say(ws, "refund time?")[0]
    assert [m["role"] for m in transcript(api, conversation_id)] == ["user", "agent"]


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        pytest.param({"nested": {"no": 1}}, "dynamic_variables.nested", id="a nested variable"),
        # Each allowed, together over the 64 KB of metadata a conversation may hold.
        pytest.param({f"v{n}": "x" * 2000 for n in range(40)}, "metadata", id="metadata too large"),
    ],
)
def test_an_invalid_initiation_closes_with_a_reason_and_stores_nothing(
    api: httpx.Client, agent: str, variables: dict[str, Any], named: str
) -> None:
    with connect(signed_url(api, agent)) as ws:
        ws.send(json.dumps({**INIT, "dynamic_variables": variables}))
        event = receive(ws)
        assert event["type"] == "error" and named in event["error_event"]["message"]
        with pytest.raises(ConnectionClosed) as info:
            receive(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    assert api.get("/v1/conversations").json()["data"] == []


def test_a_contextual_update_before_the_set_up_is_kept(api: httpx.Client, agent: str) -> None:
    with connect(signed_url(api, agent)) as ws:
        ws.send(json.dumps({"type": "contextual_update", "text": "Came from the pricing page."}))
        meta, _ = until(ws, "conversation_initiation_metadata")
        conversation_id = meta["conversation_initiation_metadata_event"]["conversation_id"]
        say(ws, "refund time?")
    assert transcript(api, conversation_id)[0]["content"] == "Came from the pricing page."


def test_a_message_before_the_set_up_starts_with_defaults(api: httpx.Client, agent: str) -> None:
    with connect(signed_url(api, agent)) as ws:
        ws.send(json.dumps({"type": "user_message", "text": "refund time?"}))
        meta, _ = until(ws, "conversation_initiation_metadata")
        assert meta["conversation_initiation_metadata_event"]["conversation_id"].startswith("conv_")
        reply, _ = until(ws, "agent_response")
        assert "five working days" in reply["agent_response_event"]["agent_response"]


def test_ping_pong_measures_latency(api: httpx.Client, agent: str) -> None:
    with connect(signed_url(api, agent)) as ws:
        start(ws)
        first = until(ws, "ping", skip_pings=False)[0]["ping_event"]
        assert first["ping_ms"] is None
        ws.send(json.dumps({"type": "pong", "event_id": first["event_id"]}))
        second = until(ws, "ping", skip_pings=False)[0]["ping_event"]
        assert second["event_id"] == first["event_id"] + 1
        assert isinstance(second["ping_ms"], int) and 0 <= second["ping_ms"] < 1000


def test_backend_failure_is_an_error_event_and_the_conversation_stays_usable(
    monkeypatch: pytest.MonkeyPatch, api: httpx.Client, agent: str
) -> None:
    use_backend(monkeypatch, ScriptedBackend(fail_after=2))
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        ws.send(json.dumps({"type": "user_message", "text": "Where is my parcel?"}))
        event, before = until(ws, "error")
        assert event["error_event"] == {"code": "agent_error", "message": "The model server is down."}
        assert [e["type"] for e in before][-2:] == ["agent_chat_response_part", "agent_response"]
        assert [e["text_response_part"]["type"] for e in before[:-1]] == ["start", "delta", "delta", "stop"]
        partial = before[-1]["agent_response_event"]
        assert partial["agent_response"] == "The parcel" and partial["interrupted"] is True
        use_backend(monkeypatch, ScriptedBackend())
        assert say(ws, "Again?")[0] == "The parcel is on its way."
    stored = transcript(api, conversation_id)
    assert [(m["role"], m["interrupted"]) for m in stored] == [
        ("user", False), ("agent", True), ("user", False), ("agent", False)]
    assert stored[1]["content"] == "The parcel"


def test_an_agent_that_cannot_be_opened_is_an_agent_error_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, api: httpx.Client, agent: str
) -> None:
    async def unopenable(*args: Any, **kwargs: Any) -> Any:
        raise ProviderUnavailable("The agent's model server key cannot be read; set it again.")

    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        monkeypatch.setattr("convhub.agents.service.open_backend", unopenable)
        ws.send(json.dumps({"type": "user_message", "text": "Hello?"}))
        event, _ = until(ws, "error")
        assert event["error_event"] == {"code": "agent_error",
                                        "message": "The agent's model server key cannot be read; set it again."}
        monkeypatch.undo()
        assert "five working days" in say(ws, "refund time?")[0]
    assert [m["role"] for m in transcript(api, conversation_id)] == ["user", "agent"]  # "Hello?" was not kept


def test_client_leaving_mid_reply_stores_what_was_said(monkeypatch: pytest.MonkeyPatch,
                                                       api: httpx.Client, agent: str) -> None:
    backend = ScriptedBackend(delay=0.2)
    use_backend(monkeypatch, backend)
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        ws.send(json.dumps({"type": "user_message", "text": "Where is my parcel?"}))
        until(ws, "agent_chat_response_part")  # start
        until(ws, "agent_chat_response_part")  # the first word
    stored = eventually(lambda: (t := transcript(api, conversation_id)) and len(t) == 2 and t)
    assert stored[1]["role"] == "agent" and stored[1]["interrupted"] is True
    assert stored[1]["content"] and backend.text.startswith(stored[1]["content"])
    assert backend.closed and backend.produced < len(backend.words)
    ended = eventually(lambda: conversation(api, conversation_id)["status"] == "done")
    assert ended


def test_ending_over_the_api_closes_the_socket(api: httpx.Client, agent: str) -> None:
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        assert api.post(f"/v1/conversations/{conversation_id}/end", json={"rating": 5}).status_code == 200
        with pytest.raises(ConnectionClosed) as info:
            until(ws, "never")
        assert info.value.rcvd is not None and info.value.rcvd.code == 1000
        assert "ended" in info.value.rcvd.reason
    assert conversation(api, conversation_id)["rating"] == 5


# ---------------------------------------------------------------- takeover


def test_takeover_and_release_reach_the_connected_client(api: httpx.Client, agent: str) -> None:
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        say(ws, "refund time?")
        assert api.post(f"/v1/conversations/{conversation_id}/takeover").status_code == 200
        taken, _ = until(ws, "takeover")
        assert "operator" in taken["takeover_event"]["message"]
        # The agent stays silent; the operator answers over the API and the user reads it here.
        ws.send(json.dumps({"type": "user_message", "text": "Can a human help?"}))
        assert eventually(lambda: transcript(api, conversation_id)[-1]["content"] == "Can a human help?")
        sent = api.post(f"/v1/conversations/{conversation_id}/messages",
                        json={"content": "Hi, Sam here. I can help.", "role": "human_operator"})
        assert sent.status_code == 201, sent.text
        answer, before = until(ws, "agent_response")
        assert answer["agent_response_event"]["agent_response"] == "Hi, Sam here. I can help."
        assert answer["agent_response_event"]["role"] == "human_operator"
        assert answer["agent_response_event"]["message_id"] == sent.json()["message"]["id"]
        assert not [e for e in before if e["type"] == "agent_chat_response_part"]
        assert api.post(f"/v1/conversations/{conversation_id}/release").status_code == 200
        until(ws, "release")
        assert "five working days" in say(ws, "refund time again?")[0]
    roles = [m["role"] for m in transcript(api, conversation_id)]
    assert roles == ["user", "agent", "system", "user", "human_operator", "system", "user", "agent"]


def test_monitors_see_the_socket_conversation_live(server: LiveServer, api: httpx.Client, agent: str) -> None:
    events: list[str] = []
    with connect(signed_url(api, agent)) as ws:
        conversation_id = start(ws)
        with api.stream("GET", "/v1/events", params={"conversation_id": conversation_id},
                        timeout=httpx.Timeout(10, read=10)) as stream:
            say(ws, "refund time?")
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                if events.count("turn.added") == 2:
                    break
    assert events == ["turn.added", "turn.added"]
