"""``/v1/agents``: agents are created, listed, read, changed and deleted; keys never come back; tenants stay apart."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from convhub.agents import service
from convhub.agents.backends.base import BackendError, ChatMessage
from convhub.agents.backends.knowledge import KnowledgeBackend
from convhub.agents.backends.openai import OpenAIBackend
from convhub.conversations.schemas import AgentRef
from convhub.db import Database
from convhub.errors import Conflict
from convhub.kit.secretbox import SecretBox
from convhub.models import Agent, AuditLog
from tests.agents.fake_openai import FakeOpenAI, FakeOpenAIServer
from tests.conftest import ingest_into, make_key
from tests.factories import make_conversation

URL = "/v1/agents"
MODEL_KEY = "sk-proj-Zq8Rt5Vx2Lm9Kp4Wn7"


def _openai(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Llama helper", "backend": "openai", "base_url": "http://127.0.0.1:11434/v1",
                            "model": "llama3.1", "api_key": MODEL_KEY, "temperature": 0.3, "max_tokens": 512}
    body.update(overrides)
    return body


async def _create(client: httpx.AsyncClient, body: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    response = await client.post(URL, json=body if body is not None else {"name": "Helper", **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _assert_no_secrets(response: httpx.Response, *secrets: str) -> None:
    for secret in (MODEL_KEY, *secrets):
        assert secret not in response.text
    assert '"api_key"' not in response.text and "api_key_encrypted" not in response.text


async def _stored(database: Database, agent_id: str) -> Agent:
    async with database.session() as session:
        return (await session.execute(select(Agent).where(Agent.id == agent_id))).scalar_one()


async def _mirror(database: Database, workspace: str = "default") -> str:
    """A provider's agent, mirrored by ingesting one of its conversations; its id."""
    await ingest_into(database, workspace, [make_conversation(
        agent=AgentRef(provider_agent_id="el_agent_sales", name="Sales Sally"))])
    async with database.session() as session:
        return (await session.execute(select(Agent.id).where(Agent.provider_agent_id == "el_agent_sales"))).scalar_one()


# ---------------------------------------------------------------- create / read


async def test_a_knowledge_agent_is_created_with_defaults(authed: httpx.AsyncClient) -> None:
    response = await authed.post(URL, json={"name": "Helper"})

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("agt_")
    assert (created["name"], created["provider"], created["provider_agent_id"]) == ("Helper", "convhub", None)
    assert (created["backend"], created["public"], created["document_count"]) == ("knowledge", False, 0)
    assert created["system_prompt"] is None and created["context_budget_chars"] is None
    assert created["fallback_reply"] is None
    assert (created["base_url"], created["model"], created["has_api_key"]) == (None, None, False)


async def test_an_openai_agent_keeps_its_settings_and_hides_its_key(
    authed: httpx.AsyncClient, database: Database
) -> None:
    response = await authed.post(URL, json=_openai(system_prompt="Be brief.", public=True,
                                                   context_budget_chars=4000, base_url="http://127.0.0.1:11434/v1/"))

    assert response.status_code == 201, response.text
    _assert_no_secrets(response)
    created = response.json()
    assert (created["backend"], created["public"], created["system_prompt"]) == ("openai", True, "Be brief.")
    assert (created["base_url"], created["model"]) == ("http://127.0.0.1:11434/v1", "llama3.1")
    assert (created["temperature"], created["max_tokens"], created["context_budget_chars"]) == (0.3, 512, 4000)
    assert created["has_api_key"] is True
    stored = await _stored(database, created["id"])
    assert MODEL_KEY not in repr(stored.config)
    assert SecretBox("test-secret").decrypt(stored.config["api_key_encrypted"]) == MODEL_KEY


async def test_get_and_list_show_native_agents_and_provider_mirrors(
    authed: httpx.AsyncClient, database: Database
) -> None:
    helper = await _create(authed, fallback_reply="Ask a human.")
    llama = await _create(authed, _openai())
    mirror_id = await _mirror(database)

    listing = await authed.get(URL)
    got = await authed.get(f"{URL}/{llama['id']}")

    assert listing.status_code == 200
    _assert_no_secrets(listing)
    page = listing.json()
    assert [a["id"] for a in page["data"]] == [helper["id"], llama["id"], mirror_id]
    assert (page["has_more"], page["next_cursor"]) == (False, None)
    mirror = page["data"][2]
    assert (mirror["provider"], mirror["provider_agent_id"], mirror["name"]) == ("elevenlabs", "el_agent_sales",
                                                                                 "Sales Sally")
    assert mirror["backend"] is None
    assert got.status_code == 200
    _assert_no_secrets(got)
    assert got.json() == page["data"][1]
    native = (await authed.get(URL, params={"provider": "convhub"})).json()["data"]
    assert [a["id"] for a in native] == [helper["id"], llama["id"]]


async def test_the_list_pages_with_a_cursor(authed: httpx.AsyncClient) -> None:
    ids = [(await _create(authed, name=f"Agent {n}"))["id"] for n in range(5)]

    first = (await authed.get(URL, params={"limit": 2})).json()
    second = (await authed.get(URL, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    third = (await authed.get(URL, params={"limit": 2, "cursor": second["next_cursor"]})).json()

    assert [a["id"] for p in (first, second, third) for a in p["data"]] == ids
    assert (first["has_more"], second["has_more"], third["has_more"]) == (True, True, False)
    assert third["next_cursor"] is None
    tampered = await authed.get(URL, params={"cursor": first["next_cursor"][:-2] + "xx"})
    assert tampered.status_code == 422


async def test_an_unknown_agent_is_404(authed: httpx.AsyncClient) -> None:
    response = await authed.get(f"{URL}/agt_nope")

    assert response.status_code == 404
    assert response.json()["detail"]["message"] == "Agent 'agt_nope' not found."


# ---------------------------------------------------------------- update


async def test_patch_changes_only_what_is_sent(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed, _openai(system_prompt="Be brief."))

    response = await authed.patch(f"{URL}/{created['id']}", json={"name": "Llama 2", "temperature": 1.5,
                                                                  "public": True})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["name"], updated["temperature"], updated["public"]) == ("Llama 2", 1.5, True)
    assert (updated["model"], updated["system_prompt"], updated["has_api_key"]) == ("llama3.1", "Be brief.", True)
    assert updated["updated_at"] >= created["updated_at"]
    assert (await authed.get(f"{URL}/{created['id']}")).json() == updated
    assert SecretBox("test-secret").decrypt((await _stored(database, created["id"])).config["api_key_encrypted"]) \
        == MODEL_KEY


async def test_patch_null_restores_defaults_and_removes_the_key(authed: httpx.AsyncClient) -> None:
    created = await _create(authed, _openai(system_prompt="Be brief.", context_budget_chars=1000))

    response = await authed.patch(f"{URL}/{created['id']}", json={"api_key": None, "temperature": None,
                                                                  "system_prompt": None, "context_budget_chars": None})

    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["has_api_key"], updated["temperature"], updated["system_prompt"]) == (False, None, None)
    assert updated["context_budget_chars"] is None
    assert (updated["base_url"], updated["model"], updated["max_tokens"]) == ("http://127.0.0.1:11434/v1",
                                                                              "llama3.1", 512)


async def test_patch_can_switch_the_backend_dropping_the_old_settings(authed: httpx.AsyncClient) -> None:
    created = await _create(authed, system_prompt="Be kind.", fallback_reply="Ask a human.")

    incomplete = await authed.patch(f"{URL}/{created['id']}", json={"backend": "openai"})
    switched = await authed.patch(f"{URL}/{created['id']}", json={"backend": "openai", "model": "qwen2.5",
                                                                  "base_url": "http://10.0.0.5:8000/v1"})
    back = await authed.patch(f"{URL}/{created['id']}", json={"backend": "knowledge"})

    assert incomplete.status_code == 422
    assert incomplete.json()["detail"][0]["msg"] == "an openai agent needs base_url and model"
    assert switched.status_code == 200, switched.text
    assert (switched.json()["backend"], switched.json()["model"]) == ("openai", "qwen2.5")
    assert switched.json()["fallback_reply"] is None  # a knowledge setting, gone with the knowledge backend
    assert switched.json()["system_prompt"] == "Be kind."  # common to both, kept
    assert back.status_code == 200
    assert (back.json()["backend"], back.json()["base_url"], back.json()["model"]) == ("knowledge", None, None)


async def test_a_mirror_can_be_renamed_but_not_given_a_backend(authed: httpx.AsyncClient, database: Database) -> None:
    mirror_id = await _mirror(database)

    renamed = await authed.patch(f"{URL}/{mirror_id}", json={"name": "Sales (EU)"})
    given_backend = await authed.patch(f"{URL}/{mirror_id}", json={"backend": "knowledge"})

    assert renamed.status_code == 200 and renamed.json()["name"] == "Sales (EU)"
    assert given_backend.status_code == 409
    assert "mirrors an elevenlabs agent: elevenlabs runs it" in given_backend.json()["detail"]["message"]
    assert (await authed.get(f"{URL}/{mirror_id}")).json()["backend"] is None


# ---------------------------------------------------------------- delete


async def test_delete_removes_the_agent(authed: httpx.AsyncClient) -> None:
    kept = await _create(authed)
    gone = await _create(authed, _openai())

    response = await authed.delete(f"{URL}/{gone['id']}")

    assert response.status_code == 204 and response.content == b""
    assert (await authed.get(f"{URL}/{gone['id']}")).status_code == 404
    assert [a["id"] for a in (await authed.get(URL)).json()["data"]] == [kept["id"]]
    assert (await authed.delete(f"{URL}/{gone['id']}")).status_code == 404


async def test_an_agent_with_conversations_cannot_be_deleted(authed: httpx.AsyncClient, database: Database) -> None:
    native = await _create(authed)
    await ingest_into(database, "default", [
        make_conversation(provider="convhub", provider_conversation_id=f"chat_{n}",
                          agent=AgentRef(agent_id=native["id"])) for n in range(2)
    ])
    mirror_id = await _mirror(database)

    refused = await authed.delete(f"{URL}/{native['id']}")
    refused_mirror = await authed.delete(f"{URL}/{mirror_id}")

    assert refused.status_code == 409
    assert refused.json()["detail"]["message"] == (
        f"Agent '{native['id']}' has 2 conversations; it cannot be deleted while they exist. "
        "Delete or erase its conversations first."
    )
    assert refused_mirror.status_code == 409
    assert "has a conversation" in refused_mirror.json()["detail"]["message"]
    assert (await authed.get(f"{URL}/{native['id']}")).status_code == 200


async def test_changes_are_audited_without_the_key(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed, _openai())
    await authed.patch(f"{URL}/{created['id']}", json={"api_key": "sk-rotated-0000", "name": "New name"})
    await authed.delete(f"{URL}/{created['id']}")

    async with database.session() as session:
        entries = list((await session.execute(
            select(AuditLog).where(AuditLog.target_id == created["id"]).order_by(AuditLog.id)
        )).scalars())

    assert [e.action for e in entries] == ["agent.created", "agent.updated", "agent.deleted"]
    assert entries[1].detail == {"fields": ["api_key", "name"]}
    assert all(e.actor and e.actor.startswith("key_") for e in entries)
    text = repr([e.detail for e in entries])
    assert MODEL_KEY not in text and "sk-rotated" not in text


# ---------------------------------------------------------------- tenancy and scopes


async def test_another_workspace_cannot_see_or_touch_an_agent(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed)
    other = {"xi-api-key": await make_key(database, "globex")}
    path = f"{URL}/{created['id']}"

    assert (await authed.get(URL, headers=other)).json()["data"] == []
    for response in (
        await authed.get(path, headers=other),
        await authed.patch(path, json={"name": "mine now"}, headers=other),
        await authed.delete(path, headers=other),
        await authed.get(f"{path}/documents", headers=other),
        await authed.post(f"{path}/documents", json={"name": "x.md", "content": "x"}, headers=other),
    ):
        assert response.status_code == 404, response.request.method
    assert (await authed.get(path)).json()["name"] == "Helper"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", URL), ("PATCH", f"{URL}/agt_x"), ("DELETE", f"{URL}/agt_x"), ("POST", f"{URL}/agt_x/documents"),
     ("DELETE", f"{URL}/agt_x/documents/doc_x")],
)
async def test_changes_need_the_agents_write_scope(
    client: httpx.AsyncClient, database: Database, method: str, path: str
) -> None:
    reader = await make_key(database, scopes="conversations:read,conversations:write")
    body = {"name": "x"} if method in ("POST", "PATCH") else None

    denied = await client.request(method, path, json=body, headers={"xi-api-key": reader})
    anonymous = await client.request(method, path, json=body)

    assert denied.status_code == 403
    assert "lacks the 'agents:write' scope" in denied.json()["detail"]["message"]
    assert anonymous.status_code == 401


async def test_reading_needs_only_the_read_scope(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed)
    reader = {"xi-api-key": await make_key(database, scopes="conversations:read")}

    assert (await authed.get(URL, headers=reader)).status_code == 200
    assert (await authed.get(f"{URL}/{created['id']}", headers=reader)).status_code == 200
    assert (await authed.get(f"{URL}/{created['id']}/documents", headers=reader)).status_code == 200


# ---------------------------------------------------------------- bad input


def _issues(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    return " | ".join(f"{'.'.join(map(str, i['loc']))}: {i['msg']}" for i in response.json()["detail"])


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({}, "body.name: Field required"),
    ({"name": "  "}, "body.name: Value error, must not be empty"),
    ({"name": "x", "backend": "claude"}, "body.backend: Input should be 'knowledge' or 'openai'"),
    ({"name": "x", "backend": "openai"}, "an openai agent needs base_url and model"),
    ({"name": "x", "backend": "openai", "base_url": "http://h/v1"}, "an openai agent needs model"),
    (_openai(base_url="ftp://models.example.com"), "body.base_url: Value error, must be an http:// or https:// URL"),
    (_openai(temperature=2.5), "body.temperature: Input should be less than or equal to 2"),
    (_openai(max_tokens=0), "body.max_tokens: Input should be greater than or equal to 1"),
    (_openai(fallback_reply="Sorry"), "not used by an openai agent: fallback_reply (knowledge agents only)"),
    ({"name": "x", "model": "gpt-4o", "api_key": "k"},
     "not used by a knowledge agent: api_key (openai agents only), model (openai agents only)"),
    ({"name": "x", "context_budget_chars": 10}, "body.context_budget_chars: Input should be greater than or equal"),
    ({"name": "x", "system_prompt": ""}, "body.system_prompt: Value error, must not be empty"),
    ({"name": "x", "public": "sometimes"}, "body.public: Input should be a valid boolean"),
    ({"name": "x", "provider": "retell"}, "body.provider: Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=[b[1][:50] for b in BAD_BODIES])
async def test_a_bad_body_is_422_saying_what_is_wrong(
    authed: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    issues = _issues(await authed.post(URL, json=body))

    assert message in issues, issues
    assert (await authed.get(URL)).json()["data"] == []  # nothing was created


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": None}, "body.name: Value error, cannot be null"),
        ({"model": None}, "body.model: Value error, cannot be null"),
        ({"fallback_reply": "Sorry"}, "body.fallback_reply: not used by an openai agent"),
        ({"backend": "knowledge", "model": "m"}, "body.model: not used by a knowledge agent"),
        ({"temperature": -1}, "body.temperature: Input should be greater than or equal to 0"),
    ],
)
async def test_a_bad_patch_is_422_and_changes_nothing(
    authed: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    created = await _create(authed, _openai())

    issues = _issues(await authed.patch(f"{URL}/{created['id']}", json=body))

    assert message in issues, issues
    assert (await authed.get(f"{URL}/{created['id']}")).json() == created


# ---------------------------------------------------------------- open_backend


async def _load(database: Database, agent_id: str) -> tuple[str, Agent]:
    agent = await _stored(database, agent_id)
    return agent.workspace_id, agent


async def test_open_backend_gives_a_knowledge_agent_its_documents(
    authed: httpx.AsyncClient, database: Database
) -> None:
    created = await _create(authed, fallback_reply="Ask the front desk.")
    await authed.post(f"{URL}/{created['id']}/documents",
                      json={"name": "hours.md", "content": "# Opening hours\n\nWe are open Monday to Friday, 9 to 17."})
    workspace_id, agent = await _load(database, created["id"])

    async with database.session() as session:
        backend = await service.open_backend(session, workspace_id, agent, SecretBox("test-secret"))
    reply = "".join([d async for d in backend.stream_reply([ChatMessage("user", "When are you open?")])])
    fallback = "".join([d async for d in backend.stream_reply([ChatMessage("user", "Do you sell bikes?")])])

    assert isinstance(backend, KnowledgeBackend)
    assert reply == "Here is what I found in hours.md:\n\nWe are open Monday to Friday, 9 to 17."
    assert fallback == "Ask the front desk."


async def test_open_backend_sees_documents_added_later(authed: httpx.AsyncClient, database: Database) -> None:
    created = await _create(authed)
    workspace_id, agent = await _load(database, created["id"])
    question = [ChatMessage("user", "Is there parking?")]

    async with database.session() as session:
        before = await service.open_backend(session, workspace_id, agent, SecretBox("test-secret"))
    await authed.post(f"{URL}/{created['id']}/documents",
                      json={"name": "visit.md", "content": "Parking is free in the courtyard."})
    async with database.session() as session:
        after = await service.open_backend(session, workspace_id, agent, SecretBox("test-secret"))

    assert "couldn't find" in "".join([d async for d in before.stream_reply(question)])
    assert "Parking is free" in "".join([d async for d in after.stream_reply(question)])


async def test_open_backend_gives_an_openai_agent_its_decrypted_key(
    authed: httpx.AsyncClient, database: Database, openai_server: FakeOpenAIServer, fake_openai: FakeOpenAI
) -> None:
    created = await _create(authed, _openai(base_url=openai_server.base_url, temperature=0.7))
    workspace_id, agent = await _load(database, created["id"])

    async with database.session() as session:
        backend = await service.open_backend(session, workspace_id, agent, SecretBox("test-secret"))
    reply = "".join([d async for d in backend.stream_reply([ChatMessage("user", "Hi")])])

    assert isinstance(backend, OpenAIBackend)
    assert reply == "Hello there, how can I help?"
    [request] = fake_openai.requests
    assert request.headers["authorization"] == f"Bearer {MODEL_KEY}"
    assert (request.body["model"], request.body["temperature"], request.body["max_tokens"]) == ("llama3.1", 0.7, 512)


async def test_open_backend_uses_an_injected_transport(
    authed: httpx.AsyncClient, database: Database, fake_openai: FakeOpenAI, model_test_client: httpx.AsyncClient
) -> None:
    created = await _create(authed, _openai(base_url="http://model.test/v1"))
    workspace_id, agent = await _load(database, created["id"])
    fake_openai.mode = "status_500"

    async with database.session() as session:
        backend = await service.open_backend(session, workspace_id, agent, SecretBox("test-secret"),
                                             http_client=model_test_client)
    with pytest.raises(BackendError, match="answered HTTP 500"):
        [d async for d in backend.stream_reply([ChatMessage("user", "Hi")])]
    [request] = fake_openai.requests  # model.test is reached only through the injected client
    assert request.headers["host"] == "model.test"


async def test_a_mirror_gets_no_backend(authed: httpx.AsyncClient, database: Database) -> None:
    workspace_id, agent = await _load(database, await _mirror(database))

    async with database.session() as session:
        with pytest.raises(Conflict, match="mirrors an elevenlabs agent: elevenlabs runs it"):
            await service.open_backend(session, workspace_id, agent, SecretBox("test-secret"))
