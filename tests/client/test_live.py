"""The SDK against a real convhub server on loopback (the ``live_server`` fixture of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Protocol

import pytest

from convhub.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from convhub.conversations.schemas import AgentRef, ConversationIn
from tests.factories import BASE_TIME, make_conversation, make_turns


class LiveServer(Protocol):
    url: str

    def key(self, workspace: str = "default", scopes: str = "all") -> str: ...

    def ingest(self, workspace: str, conversations: list[ConversationIn]) -> Any: ...


def conversations(n: int, **overrides: Any) -> list[ConversationIn]:
    """``n`` conversations started one minute apart, oldest first."""
    return [make_conversation(started_at=BASE_TIME + timedelta(minutes=i), **overrides) for i in range(n)]


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    return live_server


@pytest.fixture
def sdk(server: LiveServer) -> Iterator[Client]:
    # No retries: a failing call should surface its real status at once.
    with Client(api_key=server.key("acme"), base_url=server.url, max_retries=0) as c:
        yield c


def ingest(server: LiveServer, convs: list[ConversationIn], workspace: str = "acme") -> list[str]:
    """Ingest and return the convhub ids, in the order given."""
    returned = server.ingest(workspace, convs)
    if isinstance(returned, list) and len(returned) == len(convs):
        return [str(conversation_id) for conversation_id in returned]
    # The fixture's contract only promises None: find the ids through the SDK by provider id.
    with Client(api_key=server.key(workspace), base_url=server.url, max_retries=0) as c:
        by_provider_id = {conv.provider_conversation_id: conv.id for conv in c.conversations.list(limit=100)}
    return [by_provider_id[conv.provider_conversation_id] for conv in convs]


def test_list_walks_every_page(server: LiveServer, sdk: Client) -> None:
    ids = ingest(server, conversations(5))

    ascending = sdk.conversations.list(sort="started_at", order="asc", limit=2)
    pages = list(ascending.iter_pages())

    assert [c.id for c in ascending] == ids
    assert [len(p.data) for p in pages] == [2, 2, 1]
    assert pages[0].has_more and pages[0].next_cursor
    assert not pages[-1].has_more and pages[-1].next_cursor is None
    # The default order is newest first.
    assert [c.id for c in sdk.conversations.list(limit=2)] == list(reversed(ids))


def test_list_filters(server: LiveServer, sdk: Client) -> None:
    support = conversations(3, call_successful="success", metadata={"team": "billing"})
    sales = conversations(
        2,
        agent=AgentRef(provider_agent_id="agent_sales", name="Sales Sue"),
        call_successful="failure",
        metadata={"team": "sales"},
    )
    ingest(server, support + sales)
    sales_agent_id = next(c.agent_id for c in sdk.conversations.list() if c.agent_name == "Sales Sue")

    by_agent = list(sdk.conversations.list(agent_id=sales_agent_id, limit=1))
    assert len(by_agent) == 2
    assert {c.agent_id for c in by_agent} == {sales_agent_id}
    assert [c.call_successful for c in sdk.conversations.list(call_successful="success")] == ["success"] * 3
    assert len(list(sdk.conversations.list(metadata={"team": "sales"}))) == 2
    assert list(sdk.conversations.list(metadata={"team": "nobody"})) == []


def test_get_and_transcript(server: LiveServer, sdk: Client) -> None:
    [conv_id] = ingest(server, [make_conversation(turns=make_turns("Hello, Sam here.", "Hi, my bill is wrong."))])

    conversation = sdk.conversations.get(conv_id)
    turns = sdk.conversations.transcript(conv_id)

    assert conversation.id == conv_id
    assert conversation.agent_name == "Support Sam"
    assert [(t.role, t.message) for t in conversation.transcript] == [
        ("agent", "Hello, Sam here."),
        ("user", "Hi, my bill is wrong."),
    ]
    assert [(t.index, t.message) for t in turns] == [(0, "Hello, Sam here."), (1, "Hi, my bill is wrong.")]
    assert conversation.evaluation_results[0].criteria_id == "resolved"


def test_update_metadata_merges_and_removes(server: LiveServer, sdk: Client) -> None:
    [conv_id] = ingest(server, [make_conversation(metadata={"team": "billing", "temp": "x"})])

    updated = sdk.conversations.update(conv_id, metadata={"priority": "high", "temp": None})

    assert updated.metadata == {"team": "billing", "priority": "high"}
    assert sdk.conversations.get(conv_id).metadata == {"team": "billing", "priority": "high"}


def test_feedback_is_recorded_once_per_score(server: LiveServer, sdk: Client) -> None:
    [conv_id] = ingest(server, [make_conversation()])

    sdk.conversations.send_feedback(conv_id, "like")
    sdk.conversations.send_feedback(conv_id, "like")
    assert sdk.conversations.get(conv_id).feedback.likes == 1

    sdk.conversations.send_feedback(conv_id, "dislike")
    feedback = sdk.conversations.get(conv_id).feedback
    assert (feedback.likes, feedback.dislikes) == (0, 1)


def test_delete(server: LiveServer, sdk: Client) -> None:
    keep_id, gone_id = ingest(server, conversations(2))

    sdk.conversations.delete(gone_id)

    with pytest.raises(NotFoundError):
        sdk.conversations.get(gone_id)
    assert [c.id for c in sdk.conversations.list()] == [keep_id]


def test_signed_url_and_token(server: LiveServer, sdk: Client) -> None:
    [conv_id] = ingest(server, [make_conversation()])
    agent_id = sdk.conversations.get(conv_id).agent_id

    signed_url = sdk.conversations.get_signed_url(agent_id)
    with_conversation = sdk.conversations.get_signed_url(agent_id, include_conversation_id=True)
    token = sdk.conversations.get_token(agent_id, participant_name="Live Customer Session")

    assert signed_url.startswith(("ws://", "wss://", "http://", "https://"))
    assert with_conversation != signed_url
    assert token


def test_active_lists_only_ongoing_conversations(server: LiveServer, sdk: Client) -> None:
    live_id, done_id = ingest(server, [make_conversation(status="in-progress"), make_conversation(status="done")])

    active_ids = [c.id for c in sdk.conversations.active()]

    assert live_id in active_ids
    assert done_id not in active_ids


def test_errors(server: LiveServer, sdk: Client) -> None:
    [conv_id] = ingest(server, [make_conversation(has_audio=False)])

    with pytest.raises(NotFoundError) as not_found:
        sdk.conversations.get("conv_does_not_exist")
    assert not_found.value.status_code == 404
    assert not_found.value.request_id
    assert not_found.value.message

    with pytest.raises(NotFoundError):
        sdk.conversations.get_audio(conv_id)

    with pytest.raises(UnprocessableEntityError) as invalid:
        sdk.conversations.list(limit=1000)
    assert "limit" in invalid.value.message

    with (
        Client(api_key="sk_wrong", base_url=server.url, max_retries=0) as stranger,
        pytest.raises(AuthenticationError) as unauthenticated,
    ):
        stranger.conversations.list()
    assert unauthenticated.value.status_code == 401


def test_a_read_only_key_cannot_delete(server: LiveServer) -> None:
    [conv_id] = ingest(server, [make_conversation()])

    with Client(api_key=server.key("acme", "conversations:read"), base_url=server.url, max_retries=0) as reader:
        assert reader.conversations.get(conv_id).id == conv_id
        with pytest.raises(PermissionDeniedError):
            reader.conversations.delete(conv_id)


def test_workspaces_do_not_see_each_other(server: LiveServer) -> None:
    [conv_id] = ingest(server, [make_conversation()], workspace="acme")

    with Client(api_key=server.key("globex"), base_url=server.url, max_retries=0) as other:
        assert list(other.conversations.list()) == []
        with pytest.raises(NotFoundError):
            other.conversations.get(conv_id)


async def test_async_client(server: LiveServer) -> None:
    ids = ingest(server, conversations(3))

    async with AsyncClient(api_key=server.key("acme"), base_url=server.url, max_retries=0) as client:
        listed = [c.id async for c in client.conversations.list(sort="started_at", order="asc", limit=2)]
        first_page = await client.conversations.list(limit=2)
        detail = await client.conversations.get(ids[0])
        with pytest.raises(NotFoundError):
            await client.conversations.get("conv_does_not_exist")

    assert listed == ids
    assert len(first_page.data) == 2 and first_page.has_more
    assert detail.id == ids[0]
