"""Signed URLs and conversation tokens: the endpoints through the SDK, and the signing itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError

from convhub.elevenlabs_api.signing import (
    issue_conversation_token,
    sign_conversation,
    sign_conversation_url,
    verify_conversation_signature,
    verify_conversation_token,
)
from tests.elevenlabs_api.conftest import WORKSPACE, LiveServer
from tests.factories import make_conversation

pytestmark = pytest.mark.filterwarnings("ignore:The `__fields__` attribute is deprecated")  # inside the SDK

SECRET = "test-secret"  # the tests' settings.secret_key
NOW = 1_800_000_000.0


@pytest.fixture
def agent_id(server: LiveServer, http: httpx.Client) -> str:
    """convhub's id of the mirrored ElevenLabs agent ``agent_support``."""
    [conv_id] = server.ingest(WORKSPACE, [make_conversation()])
    agent: str = http.get(f"/v1/conversations/{conv_id}").json()["agent_id"]
    assert agent.startswith("agt_")
    return agent


# ------------------------------------------------------------------ endpoints


def test_signed_url_opens_a_conversation_with_the_agent(server: LiveServer, sdk: ElevenLabs, agent_id: str) -> None:
    conversations = sdk.conversational_ai.conversations
    url = urlsplit(conversations.get_signed_url(agent_id="agent_support").signed_url)  # provider id accepted
    assert (url.scheme, url.netloc, url.path) == ("ws", server.url.removeprefix("http://"), "/v1/convai/conversation")
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["agent_id"] == "agent_support"  # the agent_id the caller passed, not a translated one
    grant = verify_conversation_signature(SECRET, query["conversation_signature"], "agent_support")
    assert grant is not None
    assert grant.agent_id == agent_id  # the grant names convhub's agent
    assert verify_conversation_signature(SECRET, query["conversation_signature"], agent_id) == grant
    assert grant.workspace_id.startswith("ws_")
    assert (grant.conversation_id, grant.single_use) == (None, False)
    assert grant.expires_at - time.time() == pytest.approx(15 * 60, abs=30)

    once = urlsplit(conversations.get_signed_url(agent_id=agent_id, include_conversation_id=True).signed_url)
    assert parse_qs(once.query)["agent_id"] == [agent_id]  # convhub's id, as passed
    signature = parse_qs(once.query)["conversation_signature"][0]
    single = verify_conversation_signature(SECRET, signature, agent_id)
    assert single is not None and single.single_use
    assert single.conversation_id is not None and single.conversation_id.startswith("conv_")
    assert single.workspace_id == grant.workspace_id
    assert verify_conversation_signature(SECRET, signature, "agt_other") is None


def test_signed_url_follows_the_scheme_the_client_used(http: httpx.Client, agent_id: str) -> None:
    def signed_url(**headers: str) -> str:
        response = http.get("/v1/convai/conversation/get-signed-url", params={"agent_id": agent_id}, headers=headers)
        return str(response.json()["signed_url"])

    proxied = signed_url(**{"x-forwarded-proto": "https", "x-forwarded-host": "hub.example.com"})
    assert proxied.startswith(f"wss://hub.example.com/v1/convai/conversation?agent_id={agent_id}&")
    assert signed_url(**{"x-forwarded-proto": "https"}).startswith(f"wss://{http.base_url.netloc.decode()}/")
    assert signed_url(**{"x-forwarded-host": "bad host/evil"}).startswith(f"ws://{http.base_url.netloc.decode()}/")


def test_token_names_a_fresh_conversation(sdk: ElevenLabs, agent_id: str) -> None:
    conversations = sdk.conversational_ai.conversations
    answer = conversations.get_webrtc_token(agent_id=agent_id, participant_name="Ada Lovelace")
    token = answer.token
    grant = verify_conversation_token(SECRET, token, agent_id=agent_id)
    assert grant is not None
    assert (grant.agent_id, grant.participant_name) == (agent_id, "Ada Lovelace")
    assert grant.conversation_id.startswith("conv_")
    assert answer.conversation_id == grant.conversation_id  # the conversation the token opens
    by_theirs = conversations.get_webrtc_token(agent_id="agent_support")
    other = verify_conversation_token(SECRET, by_theirs.token, agent_id="agent_support")
    assert other is not None and other.participant_name is None
    assert other.agent_id == agent_id
    assert other.conversation_id == by_theirs.conversation_id != grant.conversation_id
    assert verify_conversation_signature(SECRET, token, agent_id) is None  # a token is no URL signature


def test_unknown_agents_get_nothing(server: LiveServer, sdk: ElevenLabs) -> None:
    server.ingest("elsewhere", [make_conversation()])  # agent_support exists, but not in acme
    conversations = sdk.conversational_ai.conversations
    calls: list[Callable[[], object]] = [
        lambda: conversations.get_signed_url(agent_id="agent_support"),
        lambda: conversations.get_webrtc_token(agent_id="agent_support"),
    ]
    for call in calls:
        with pytest.raises(ApiError) as excinfo:
            call()
        assert excinfo.value.status_code == 404
        assert excinfo.value.body["detail"]["message"] == "Agent 'agent_support' not found."


# -------------------------------------------------------------------- signing


def _sign(include_conversation_id: bool = False) -> str:
    return sign_conversation(SECRET, workspace_id="ws_1", agent_id="agt_1",
                             include_conversation_id=include_conversation_id, ttl_secs=60, now=NOW)


def _flip(text: str) -> str:
    """``text`` with one character in its middle changed (an end character may be mere base64 padding)."""
    i = len(text) // 3
    return text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]


def test_signature_round_trip() -> None:
    grant = verify_conversation_signature(SECRET, _sign(), "agt_1", now=NOW + 59)
    assert grant is not None
    assert (grant.workspace_id, grant.agent_id, grant.conversation_id, grant.expires_at) == (
        "ws_1", "agt_1", None, int(NOW + 60))
    assert _sign() != _sign()  # a fresh nonce every time


def test_signed_url_carries_the_agent_and_signature() -> None:
    url = sign_conversation_url(SECRET, ws_base_url="wss://hub.example.com/", workspace_id="ws_1", agent_id="agt 1&x",
                                include_conversation_id=True, ttl_secs=60, now=NOW)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.scheme, parts.netloc, parts.path) == ("wss", "hub.example.com", "/v1/convai/conversation")
    assert query["agent_id"] == "agt 1&x"
    grant = verify_conversation_signature(SECRET, query["conversation_signature"], "agt 1&x", now=NOW)
    assert grant is not None and grant.single_use


def test_expired_signature_is_refused() -> None:
    assert verify_conversation_signature(SECRET, _sign(), "agt_1", now=NOW + 61) is None


def test_tampered_signature_is_refused() -> None:
    signature = _sign(include_conversation_id=True)
    payload, mac = signature.split(".")
    forgeries = (f"{_flip(payload)}.{mac}", f"{payload}.{_flip(mac)}", f"{payload}.", payload, "", ".", "é.é", "a.b.c")
    for forged in forgeries:
        assert verify_conversation_signature(SECRET, forged, "agt_1", now=NOW) is None, forged
    assert verify_conversation_signature("another-secret", signature, "agt_1", now=NOW) is None


def test_signature_for_another_agent_is_refused() -> None:
    assert verify_conversation_signature(SECRET, _sign(), "agt_2", now=NOW) is None


def test_signature_holds_under_the_id_the_caller_passed() -> None:
    url = sign_conversation_url(SECRET, ws_base_url="ws://hub", workspace_id="ws_1", agent_id="agt_1",
                                agent_ref="agent_el_1", include_conversation_id=False, ttl_secs=60, now=NOW)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["agent_id"] == "agent_el_1"
    for ref in ("agent_el_1", "agt_1"):
        grant = verify_conversation_signature(SECRET, query["conversation_signature"], ref, now=NOW)
        assert grant is not None and grant.agent_id == "agt_1", ref
    assert verify_conversation_signature(SECRET, query["conversation_signature"], "agent_el_2", now=NOW) is None


def test_token_round_trip_and_refusals() -> None:
    issued = issue_conversation_token(SECRET, workspace_id="ws_1", agent_id="agt_1", participant_name="Zoë",
                                      ttl_secs=60, agent_ref="agent_el_1", now=NOW)
    token = issued.token
    grant = verify_conversation_token(SECRET, token, agent_id="agt_1", now=NOW + 60)
    assert grant is not None
    assert (grant.workspace_id, grant.agent_id, grant.participant_name) == ("ws_1", "agt_1", "Zoë")
    assert grant.conversation_id == issued.conversation_id
    assert grant.conversation_id.startswith("conv_")
    assert verify_conversation_token(SECRET, token, agent_id="agent_el_1", now=NOW) == grant  # the id passed
    assert verify_conversation_token(SECRET, token, now=NOW) is not None  # the agent check is optional
    assert verify_conversation_token(SECRET, token, agent_id="agt_2", now=NOW) is None
    assert verify_conversation_token(SECRET, token, now=NOW + 61) is None
    assert verify_conversation_token("another-secret", token, now=NOW) is None
    assert verify_conversation_token(SECRET, _flip(token), now=NOW) is None
    assert verify_conversation_token(SECRET, _sign(), now=NOW) is None  # a URL signature is no token
