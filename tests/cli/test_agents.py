"""``convhub agents``: create prints the id last, documents come from files, bad input is exit 2 and writes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from convhub.conversations.schemas import AgentRef
from convhub.db import Database
from convhub.kit.secretbox import SecretBox
from convhub.models import Agent, AgentDocument
from tests.cli.conftest import Invoke, last_line
from tests.conftest import ingest_into
from tests.factories import make_conversation

MODEL_KEY = "sk-cli-0123456789abcdef"


async def _load(url: str, agent_id: str) -> tuple[Agent | None, list[AgentDocument]]:
    database = Database(url)
    try:
        async with database.session() as session:
            agent = (await session.execute(select(Agent).where(Agent.id == agent_id))).scalar_one_or_none()
            docs = list((await session.execute(
                select(AgentDocument).where(AgentDocument.agent_id == agent_id).order_by(AgentDocument.id)
            )).scalars())
            return agent, docs
    finally:
        await database.dispose()


def stored(url: str, agent_id: str) -> tuple[Agent | None, list[AgentDocument]]:
    return asyncio.run(_load(url, agent_id))


async def _all_agents(url: str) -> list[Agent]:
    database = Database(url)
    try:
        async with database.session() as session:
            return list((await session.execute(select(Agent))).scalars())
    finally:
        await database.dispose()


async def _ingest_chat(url: str, agent_id: str) -> None:
    database = Database(url)
    try:
        await ingest_into(database, "acme", [make_conversation(provider="convhub", provider_conversation_id="chat_1",
                                                               agent=AgentRef(agent_id=agent_id))])
    finally:
        await database.dispose()


@pytest.fixture
def docs(tmp_path: Path) -> dict[str, Path]:
    files = {
        "faq": tmp_path / "faq.md",
        "hours": tmp_path / "hours.txt",
        "binary": tmp_path / "logo.png",
        "empty": tmp_path / "empty.md",
    }
    files["faq"].write_text("# FAQ\n\nWe answer e-mails within one working day.\n")
    files["hours"].write_text("Open Monday to Friday, 9 to 17.")
    files["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    files["empty"].write_text("\n")
    return files


def _create(cli: Invoke, *args: str, workspace: str = "acme") -> str:
    result = cli("agents", "create", "--workspace", workspace, *args)
    assert result.exit_code == 0, result.output
    return last_line(result.stdout)


def test_create_prints_the_agent_id_last_and_stores_the_documents(
    cli: Invoke, db_url: str, docs: dict[str, Path]
) -> None:
    result = cli("agents", "create", "--workspace", "acme", "--name", "Front desk", "--backend", "knowledge",
                 "--docs", str(docs["faq"]), str(docs["hours"]), "--public", "--system-prompt", "Be warm.")

    assert result.exit_code == 0, result.output
    agent_id = last_line(result.stdout)
    assert result.stdout.strip() == agent_id  # AGENT=$(convhub agents create …) works
    assert agent_id.startswith("agt_")
    agent, documents = stored(db_url, agent_id)
    assert agent is not None
    assert (agent.name, agent.provider, agent.backend, agent.public) == ("Front desk", "convhub", "knowledge", True)
    assert agent.config == {"system_prompt": "Be warm."}
    assert [(d.name, d.content) for d in documents] == [
        ("faq.md", "# FAQ\n\nWe answer e-mails within one working day.\n"),
        ("hours.txt", "Open Monday to Friday, 9 to 17."),
    ]
    assert "2 document(s)" in result.stderr


def test_docs_can_also_be_given_one_option_each(cli: Invoke, db_url: str, docs: dict[str, Path]) -> None:
    agent_id = _create(cli, "--name", "Helper", "--docs", str(docs["faq"]), "--docs", str(docs["hours"]))

    assert [d.name for d in stored(db_url, agent_id)[1]] == ["faq.md", "hours.txt"]


def test_an_openai_agent_stores_its_key_encrypted_and_never_prints_it(cli: Invoke, db_url: str) -> None:
    result = cli("agents", "create", "--workspace", "acme", "--name", "Llama", "--backend", "openai",
                 "--base-url", "http://127.0.0.1:11434/v1", "--model", "llama3.1", "--api-key", MODEL_KEY,
                 "--temperature", "0.4")

    assert result.exit_code == 0, result.output
    assert MODEL_KEY not in result.output
    agent, _ = stored(db_url, last_line(result.stdout))
    assert agent is not None and agent.backend == "openai"
    assert (agent.config["base_url"], agent.config["model"], agent.config["temperature"]) == (
        "http://127.0.0.1:11434/v1", "llama3.1", 0.4)
    assert MODEL_KEY not in repr(agent.config)
    assert SecretBox("test-secret").decrypt(agent.config["api_key_encrypted"]) == MODEL_KEY


def test_list_shows_the_workspaces_agents_without_keys(cli: Invoke, docs: dict[str, Path]) -> None:
    helper = _create(cli, "--name", "Helper", "--docs", str(docs["faq"]))
    llama = _create(cli, "--name", "Llama", "--backend", "openai", "--base-url", "http://127.0.0.1:11434/v1",
                    "--model", "llama3.1", "--api-key", MODEL_KEY)
    _create(cli, "--name", "not-mine", workspace="globex")

    result = cli("agents", "list", "--workspace", "acme")

    assert result.exit_code == 0, result.output
    assert helper in result.stdout and llama in result.stdout
    assert "knowledge" in result.stdout and "llama3.1 at http://127.0.0.1:11434/v1" in result.stdout
    assert MODEL_KEY not in result.output
    assert "not-mine" not in result.stdout


def test_add_docs_prints_each_new_document_id(cli: Invoke, db_url: str, docs: dict[str, Path]) -> None:
    agent_id = _create(cli, "--name", "Helper")

    result = cli("agents", "add-docs", agent_id, str(docs["faq"]), str(docs["hours"]), "--workspace", "acme")

    assert result.exit_code == 0, result.output
    ids = result.stdout.split()
    assert [d.id for d in stored(db_url, agent_id)[1]] == ids
    assert len(ids) == 2 and all(i.startswith("doc_") for i in ids)


def test_delete_removes_the_agent_and_refuses_one_with_conversations(cli: Invoke, db_url: str) -> None:
    gone = _create(cli, "--name", "Gone")
    busy = _create(cli, "--name", "Busy")
    asyncio.run(_ingest_chat(db_url, busy))

    deleted = cli("agents", "delete", gone, "--workspace", "acme")
    refused = cli("agents", "delete", busy, "--workspace", "acme")

    assert deleted.exit_code == 0, deleted.output
    assert last_line(deleted.stdout) == gone
    assert stored(db_url, gone)[0] is None
    assert refused.exit_code == 1
    assert f"Agent '{busy}' has a conversation; it cannot be deleted" in refused.stderr
    assert "Traceback" not in refused.output
    assert stored(db_url, busy)[0] is not None


def test_another_workspaces_agent_is_not_found(cli: Invoke, docs: dict[str, Path]) -> None:
    agent_id = _create(cli, "--name", "Helper")
    _create(cli, "--name", "Theirs", workspace="globex")

    deleted = cli("agents", "delete", agent_id, "--workspace", "globex")
    added = cli("agents", "add-docs", agent_id, str(docs["faq"]), "--workspace", "globex")

    for result in (deleted, added):
        assert result.exit_code == 1
        assert f"Agent {agent_id!r} not found." in result.stderr


def test_add_docs_to_an_openai_agent_fails_plainly(cli: Invoke, docs: dict[str, Path]) -> None:
    agent_id = _create(cli, "--name", "Llama", "--backend", "openai", "--base-url", "http://h:1/v1", "--model", "m")

    result = cli("agents", "add-docs", agent_id, str(docs["faq"]), "--workspace", "acme")

    assert result.exit_code == 1
    assert "only knowledge agents answer from documents" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "X", "--backend", "claude"], "unknown backend 'claude'; choose one of: knowledge, openai"),
        (["--name", "X", "--backend", "openai"], "invalid agent: an openai agent needs --base-url and --model"),
        (["--name", "X", "--backend", "openai", "--base-url", "ftp://h", "--model", "m"],
         "--base-url: Value error, must be an http:// or https:// URL"),
        (["--name", "X", "--backend", "openai", "--base-url", "http://h/v1", "--model", "m", "--temperature", "3"],
         "--temperature: Input should be less than or equal to 2"),
        (["--name", "X", "--model", "m"], "not used by a knowledge agent: --model (openai agents only)"),
        (["--name", " "], "--name: Value error, must not be empty"),
        (["--name", "X", "--docs", "{missing}"], "no such file"),
        (["--name", "X", "--docs", "{binary}"], "looks binary; upload text or markdown"),
        (["--name", "X", "--docs", "{empty}"], "Document 'empty.md' is empty."),
        (["--name", "X", "--docs", "{faq}", "--backend", "openai", "--base-url", "http://h/v1", "--model", "m"],
         "--docs is for knowledge agents"),
        (["--name", "X", "{faq}"], "unexpected argument"),
    ],
)
def test_bad_input_is_a_usage_error_and_creates_nothing(
    cli: Invoke, db_url: str, docs: dict[str, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    paths = {**{k: str(v) for k, v in docs.items()}, "missing": str(tmp_path / "nope.md")}

    result = cli("agents", "create", "--workspace", "acme", *[a.format(**paths) for a in args])

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert asyncio.run(_all_agents(db_url)) == []
