"""``convhub chat``: an interactive chat driven through stdin against a live server with a knowledge agent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from convhub.cli import app
from convhub.client import Client


@pytest.fixture
def sdk(live_server: Any) -> Iterator[Client]:
    with Client(api_key=live_server.key("acme"), base_url=live_server.url, max_retries=0) as client:
        yield client


@pytest.fixture
def agent_id(sdk: Client) -> str:
    agent = sdk.agents.create("Shop help")
    sdk.agents.add_documents(agent.id, [("shipping.md", "Parcels ship within two working days by courier.")])
    return agent.id


def chat(sdk: Client, *args: str, input: str) -> Result:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CONVHUB_")}
    env |= {"CONVHUB_BASE_URL": sdk.base_url, "CONVHUB_API_KEY": sdk.api_key}
    return CliRunner(env=env).invoke(app, ["chat", *args], input=input)


def test_a_chat_streams_replies_and_ends_with_a_rating(sdk: Client, agent_id: str) -> None:
    result = chat(sdk, agent_id, input="How long does shipping take?\n\n/end\n7\n4\n")

    assert result.exit_code == 0, result.stderr
    assert "Agent: " in result.stdout and "two working days" in result.stdout
    (conversation,) = sdk.conversations.list(agent_id=agent_id)
    assert (conversation.status, conversation.rating) == ("done", 4)
    assert conversation.metadata == {"source": "cli"}
    assert [m.role for m in sdk.messages.list(conversation.id)] == ["user", "agent"]
    assert "1 to 5" in result.stderr  # 7 was refused before 4 was accepted


def test_end_of_input_ends_the_chat_without_a_rating(sdk: Client, agent_id: str) -> None:
    result = chat(sdk, agent_id, "--workspace", "acme", input="Shipping?\n")

    assert result.exit_code == 0, result.stderr
    (conversation,) = sdk.conversations.list(agent_id=agent_id)
    assert (conversation.status, conversation.rating) == ("done", None)
    assert conversation.metadata == {"source": "cli", "workspace": "acme"}


def test_an_unknown_agent_is_a_clean_error(sdk: Client) -> None:
    result = chat(sdk, "agt_missing", input="")

    assert result.exit_code == 1
    assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_no_api_key_is_a_clean_error() -> None:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CONVHUB_")}
    result = CliRunner(env=env).invoke(app, ["chat", "agt_1"])
    assert result.exit_code == 1
    assert "CONVHUB_API_KEY" in result.stderr
