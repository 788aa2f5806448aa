"""``client.agents``: request shapes against a mock transport, and the whole lifecycle against a live server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from convhub.client import AsyncClient, Client, ConflictError, NotFoundError, UnprocessableEntityError
from tests.client.conftest import Recorder


def agent_json(id: str = "agt_1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": id,
        "name": "Helper",
        "provider": "convhub",
        "provider_agent_id": None,
        "backend": "knowledge",
        "public": False,
        "system_prompt": None,
        "context_budget_chars": None,
        "fallback_reply": None,
        "base_url": None,
        "model": None,
        "has_api_key": False,
        "temperature": None,
        "max_tokens": None,
        "document_count": 0,
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:00:00Z",
    }
    body.update(overrides)
    return body


def document_json(name: str, id: str = "doc_1") -> dict[str, Any]:
    return {
        "id": id,
        "agent_id": "agt_1",
        "name": name,
        "chars": 5,
        "preview": "hello",
        "created_at": "2024-05-01T10:00:00Z",
    }


def test_create_sends_only_the_settings_given(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(201, json=agent_json(backend="openai", model="llama3", has_api_key=True)))
    client = make_client(recorder)

    agent = client.agents.create(
        "Helper",
        backend="openai",
        base_url="http://localhost:11434/v1",
        model="llama3",
        api_key="sk-local",
        temperature=None,
    )

    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("POST", "/v1/agents")
    assert json.loads(request.content) == {
        "name": "Helper",
        "backend": "openai",
        "public": False,
        "base_url": "http://localhost:11434/v1",
        "model": "llama3",
        "api_key": "sk-local",
    }
    assert agent.model == "llama3" and agent.has_api_key


def test_update_sends_null_to_restore_a_default(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(200, json=agent_json(name="Renamed")))
    agent = make_client(recorder).agents.update("agt_1", name="Renamed", system_prompt=None)

    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("PATCH", "/v1/agents/agt_1")
    assert json.loads(request.content) == {"name": "Renamed", "system_prompt": None}
    assert agent.name == "Renamed"


def test_list_walks_every_page(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(
        httpx.Response(200, json={"data": [agent_json("a1"), agent_json("a2")], "next_cursor": "c2", "has_more": True}),
        httpx.Response(200, json={"data": [agent_json("a3")], "next_cursor": None, "has_more": False}),
    )
    agents = make_client(recorder).agents.list(provider="convhub", limit=2)

    assert [a.id for a in agents] == ["a1", "a2", "a3"]
    assert [r.url.params.multi_items() for r in recorder.requests] == [
        [("provider", "convhub"), ("limit", "2")],
        [("provider", "convhub"), ("limit", "2"), ("cursor", "c2")],
    ]


def test_add_documents_uploads_files_and_pairs_in_one_request(
    make_client: Callable[..., Client], tmp_path: Path
) -> None:
    path = tmp_path / "refunds.md"
    path.write_text("# Refunds\nWithin 30 days.")
    recorder = Recorder(httpx.Response(201, json={"data": [document_json("refunds.md"), document_json("faq.txt")]}))

    documents = make_client(recorder).agents.add_documents("agt_1", [path, ("faq.txt", "Opening hours: 9-5.")])

    request = recorder.requests[0]
    assert request.url.path == "/v1/agents/agt_1/documents"
    assert request.headers["content-type"].startswith("multipart/form-data")
    body = request.content.decode()
    assert body.count('name="file"') == 2
    assert 'filename="refunds.md"' in body and "Within 30 days." in body
    assert 'filename="faq.txt"' in body and "Opening hours: 9-5." in body
    assert [d.name for d in documents] == ["refunds.md", "faq.txt"]


def test_an_upload_is_sent_again_when_retried(make_client: Callable[..., Client]) -> None:
    recorder = Recorder(httpx.Response(503), httpx.Response(201, json={"data": [document_json("a.txt")]}))
    make_client(recorder).agents.add_documents("agt_1", [("a.txt", "alpha")])

    assert len(recorder.requests) == 2
    assert all(b"alpha" in r.content for r in recorder.requests)


def test_add_documents_needs_a_document(make_client: Callable[..., Client]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        make_client(Recorder()).agents.add_documents("agt_1", [])


async def test_async_agents(make_async_client: Callable[..., AsyncClient]) -> None:
    recorder = Recorder(
        httpx.Response(201, json=agent_json()),
        httpx.Response(200, json={"data": [agent_json("a1")], "next_cursor": "c2", "has_more": True}),
        httpx.Response(200, json={"data": [agent_json("a2")], "next_cursor": None, "has_more": False}),
        httpx.Response(201, json={"data": [document_json("a.txt")]}),
        httpx.Response(204),
    )
    client = make_async_client(recorder)

    created = await client.agents.create("Helper", system_prompt="Be brief.", public=True)
    listed = [a.id async for a in client.agents.list()]
    documents = await client.agents.add_documents(created.id, [("a.txt", b"alpha")])
    await client.agents.delete(created.id)

    assert json.loads(recorder.requests[0].content) == {
        "name": "Helper",
        "backend": "knowledge",
        "public": True,
        "system_prompt": "Be brief.",
    }
    assert listed == ["a1", "a2"]
    assert [d.name for d in documents] == ["a.txt"]
    assert (recorder.requests[-1].method, recorder.requests[-1].url.path) == ("DELETE", "/v1/agents/agt_1")


# ---------------------------------------------------------------- live server


@pytest.fixture
def sdk(live_server: Any) -> Iterator[Client]:
    with Client(api_key=live_server.key("acme"), base_url=live_server.url, max_retries=0) as client:
        yield client


def test_agent_lifecycle_on_a_live_server(sdk: Client, tmp_path: Path) -> None:
    path = tmp_path / "shipping.md"
    path.write_text("Parcels ship within two working days.")

    agent = sdk.agents.create("Support", system_prompt="Answer from the documents.")
    documents = sdk.agents.add_documents(agent.id, [path, ("returns.txt", "Returns are free for 30 days.")])
    renamed = sdk.agents.update(agent.id, name="Support bot", public=True)

    assert agent.provider == "convhub" and agent.backend == "knowledge"
    assert sorted(d.name for d in documents) == ["returns.txt", "shipping.md"]
    assert (renamed.name, renamed.public) == ("Support bot", True)
    assert sdk.agents.get(agent.id).document_count == 2
    assert sorted(d.name for d in sdk.agents.list_documents(agent.id)) == ["returns.txt", "shipping.md"]
    assert [a.id for a in sdk.agents.list(provider="convhub")] == [agent.id]

    sdk.agents.delete(agent.id)
    with pytest.raises(NotFoundError):
        sdk.agents.get(agent.id)


def test_list_pages_through_every_agent(sdk: Client) -> None:
    ids = [sdk.agents.create(f"Agent {i}").id for i in range(5)]
    page = sdk.agents.list(limit=2)

    assert [a.id for a in page] == ids
    assert [len(p.data) for p in page.iter_pages()] == [2, 2, 1]


def test_server_refusals_arrive_as_typed_errors(sdk: Client) -> None:
    with pytest.raises(UnprocessableEntityError, match="base_url"):
        sdk.agents.create("Broken", backend="openai", model="llama3")
    with pytest.raises(UnprocessableEntityError, match="fallback_reply"):
        sdk.agents.create(
            "Mixed", backend="openai", base_url="http://127.0.0.1:9/v1", model="m", fallback_reply="Sorry"
        )
    agent = sdk.agents.create("Busy")
    sdk.conversations.create(agent.id)
    with pytest.raises(ConflictError):
        sdk.agents.delete(agent.id)


async def test_async_agents_on_a_live_server(live_server: Any) -> None:
    async with AsyncClient(api_key=live_server.key("acme"), base_url=live_server.url, max_retries=0) as client:
        agent = await client.agents.create("Async")
        await client.agents.add_documents(agent.id, [("a.md", "alpha beta")])
        assert (await client.agents.get(agent.id)).document_count == 1
        assert [a.id async for a in client.agents.list()] == [agent.id]
