"""The official JavaScript SDK (``@elevenlabs/elevenlabs-js``, pinned in tests/js/package.json) against a live
convhub: every dialect endpoint it has, every body parsed strictly (tests/js/convai.mjs says how).

The SDK is installed from the project's own files (``npm ci --prefix tests/js``, which scripts/test runs). Where
Node or the installed SDK is missing the test is skipped, except in CI (``CONVHUB_REQUIRE_POSTGRES=1``), where
that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from convhub.conversations.schemas import AgentRef, DataCollectionIn, EvaluationResultIn, Feedback, TurnIn
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs
from convhub.simulators.generate import generate_audio_bytes, generate_elevenlabs_conversation
from tests.elevenlabs_api.conftest import WORKSPACE, LiveServer, attach_audio
from tests.factories import BASE_TIME, make_conversation

JS = Path(__file__).parents[1] / "js"
SCRIPT = JS / "convai.mjs"
SDK = JS / "node_modules" / "@elevenlabs" / "elevenlabs-js"
EL_BODY = generate_elevenlabs_conversation(13)  # a Twilio call with tool calls, as ElevenLabs sends it
FAR_FUTURE = BASE_TIME.replace(year=2031)
RETELL = AgentRef(provider_agent_id="ag_retell_js", name="Retell Rita")
PLAIN_EL = AgentRef(provider_agent_id="agent_js_support", name="Support Sam")


def _node() -> str:
    """The node executable, with the pinned SDK installed; else skip (fail in CI)."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not on the PATH"
    elif not SDK.is_dir():
        problem = "the pinned SDK is not installed: run npm ci --prefix tests/js (scripts/test does)"
    if problem is not None:
        if os.environ.get("CONVHUB_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{problem}; CI runs the JavaScript SDK tests")
        pytest.skip(problem)
    assert node is not None
    return node


def _ids(http: httpx.Client, conversation_id: str) -> tuple[str, str]:
    """convhub's (conversation id, agent id), read through the native API."""
    body = http.get(f"/v1/conversations/{conversation_id}").json()
    return body["id"], body["agent_id"]


def _chat(http: httpx.Client) -> str:
    """A chat with a native knowledge agent, one question asked."""
    agent = http.post("/v1/agents", json={"name": "Helper"})
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["id"]
    doc = http.post(f"/v1/agents/{agent_id}/documents",
                    json={"name": "refunds.md", "content": "# Refunds\n\nRefunds take five working days."})
    assert doc.status_code == 201, doc.text
    chat = http.post("/v1/conversations", json={"agent_id": agent_id})
    assert chat.status_code == 201, chat.text
    chat_id: str = chat.json()["id"]
    sent = http.post(f"/v1/conversations/{chat_id}/messages", json={"content": "How long do refunds take?"})
    assert sent.status_code == 201, sent.text
    return chat_id


def _seed(server: LiveServer, http: httpx.Client) -> dict[str, Any]:
    """Conversations of every kind, and what the SDK must see of each."""
    el_full = conversation_from_elevenlabs(EL_BODY)
    el_plain = make_conversation(
        agent=PLAIN_EL, started_at=FAR_FUTURE, duration_secs=4321, user_id="user-js-1", rating=5,
        feedback=Feedback(comment="Helpful"), call_successful="success",
        evaluation_results=[EvaluationResultIn(criteria_id="js_check", result="success", rationale="")],
        data_collection=[DataCollectionIn(data_collection_id="js_intent", value="billing", rationale="")],
        turns=[TurnIn(role="agent", message="Hello.", time_in_call_secs=0),
               TurnIn(role="user", message="Where is my zeppelin?", time_in_call_secs=2),
               TurnIn(role="agent", message="Let me look.", time_in_call_secs=4, tool_calls=[
                   {"request_id": "r1", "tool_name": "lookup_zeppelin", "params_as_json": "{}",
                    "tool_has_been_called": True}])],
    )
    retell = make_conversation(provider="retell", provider_conversation_id="call_retell_js", agent=RETELL,
                               channel="web", direction=None, call_successful="failure")
    vapi = make_conversation(provider="vapi", provider_conversation_id="call_vapi_js",
                             agent=AgentRef(provider_agent_id="asst_vapi_js"), direction="outbound")
    full_id, plain_id, retell_id, vapi_id = server.ingest(WORKSPACE, [el_full, el_plain, retell, vapi])
    chat_id = _chat(http)
    audio = generate_audio_bytes(full_id, seconds=20)
    attach_audio(server, full_id, audio)
    server.ingest("elsewhere", [make_conversation(agent=PLAIN_EL)])  # never seen from acme

    agents = {name: _ids(http, cid)[1] for name, cid in
              (("el_full", full_id), ("el_plain", plain_id), ("retell", retell_id), ("vapi", vapi_id),
               ("chat", chat_id))}
    conversations = [
        {"conversation_id": EL_BODY["conversation_id"], "agent_id": EL_BODY["agent_id"],
         "refs": [EL_BODY["conversation_id"], full_id]},
        {"conversation_id": el_plain.provider_conversation_id, "agent_id": PLAIN_EL.provider_agent_id,
         "refs": [el_plain.provider_conversation_id, plain_id]},
        {"conversation_id": retell_id, "agent_id": agents["retell"], "refs": [retell_id]},
        {"conversation_id": vapi_id, "agent_id": agents["vapi"], "refs": [vapi_id]},
        {"conversation_id": chat_id, "agent_id": agents["chat"], "refs": [chat_id]},
    ]
    plain = [el_plain.provider_conversation_id]
    filters: list[tuple[dict[str, Any], list[str]]] = [
        ({"agentId": EL_BODY["agent_id"]}, [EL_BODY["conversation_id"]]),
        ({"agentId": agents["el_full"]}, [EL_BODY["conversation_id"]]),  # convhub's id of the same agent
        ({"agentId": "agent_js_support"}, plain),
        ({"agentId": "ag_retell_js"}, [retell_id]),
        ({"agentId": agents["retell"]}, [retell_id]),
        ({"agentId": agents["chat"]}, [chat_id]),
        ({"agentId": "agent_nobody"}, []),
        ({"agentId": "ag_retell_js", "callSuccessful": "failure"}, [retell_id]),
        ({"agentId": "ag_retell_js", "callSuccessful": "success"}, []),
        ({"callStartAfterUnix": int(FAR_FUTURE.timestamp()) - 1}, plain),
        ({"callStartBeforeUnix": int(FAR_FUTURE.timestamp()) - 1, "userId": "user-js-1"}, []),
        ({"callDurationMinSecs": 4321, "callDurationMaxSecs": 4321}, plain),
        ({"ratingMin": 5, "ratingMax": 5, "userId": "user-js-1"}, plain),
        ({"ratingMax": 4, "userId": "user-js-1"}, []),
        ({"hasFeedbackComment": True, "userId": "user-js-1"}, plain),
        ({"userId": "user-js-1"}, plain),
        ({"evaluationParams": ["js_check:success"]}, plain),
        ({"dataCollectionParams": ["js_intent:eq:billing"]}, plain),
        ({"toolNames": ["lookup_zeppelin", "no_such_tool"]}, plain),
        ({"search": "zeppelin"}, plain),
        ({"summaryMode": "include", "sortDirection": "asc", "search": "zeppelin"}, plain),
    ]
    return {
        "conversations": conversations,
        "filters": [{"request": request, "expect": expect} for request, expect in filters],
        "audio": {"refs": [EL_BODY["conversation_id"], full_id], "sha256": hashlib.sha256(audio).hexdigest()},
        # the native agent by its id; mirrored agents by the provider's id and by convhub's
        "agent_refs": [agents["chat"], "agent_js_support", agents["retell"]],
    }


def test_the_official_js_sdk_parses_every_answer(server: LiveServer, http: httpx.Client, key: str) -> None:
    node = _node()
    spec = _seed(server, http)
    env = {**os.environ, "CONVHUB_BASE_URL": server.url, "CONVHUB_API_KEY": key, "CONVHUB_CASE": json.dumps(spec)}
    done = subprocess.run([node, str(SCRIPT)], cwd=JS, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the JavaScript SDK failed:\n{done.stderr}{done.stdout}"
    assert done.stdout.startswith("ok: "), done.stdout
