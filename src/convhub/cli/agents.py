"""``convhub agents``: create, list and delete native agents, and give knowledge agents documents.

The same operations as ``/v1/agents``, for setting up a chat agent from a shell
before any API key exists. ``create`` prints the new agent's id as the last line
of stdout, so ``AGENT=$(convhub agents create --name Help --docs faq.md)``
works. Every file is read and checked before anything is written, so a bad
document leaves no half-made agent behind; bad input exits 2. The ``openai``
key is never printed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from convhub.cli._common import Workspace, fail, note, out, run

if TYPE_CHECKING:
    from convhub.agents.schemas import AgentCreate, AgentRead
    from convhub.config import Settings
    from convhub.models import Agent, AgentDocument

app = typer.Typer(help="Create, list and delete convhub's own chat agents; add documents to knowledge agents.",
                  no_args_is_help=True)

AgentRef = Annotated[str, typer.Argument(metavar="AGENT_ID", help="The agent's id (agt_…).")]

BACKENDS = ("knowledge", "openai")
# CLI option names of the request fields, for error messages.
_OPTION_OF = {
    "name": "--name",
    "backend": "--backend",
    "public": "--public",
    "system_prompt": "--system-prompt",
    "context_budget_chars": "--context-budget",
    "fallback_reply": "--fallback-reply",
    "base_url": "--base-url",
    "model": "--model",
    "api_key": "--api-key",
    "temperature": "--temperature",
    "max_tokens": "--max-tokens",
}
_FIELD = re.compile(r"\b(" + "|".join(sorted(_OPTION_OF, key=len, reverse=True)) + r")\b")


def _as_options(message: str) -> str:
    """A request-field message in CLI terms: ``base_url`` becomes ``--base-url``."""
    return _FIELD.sub(lambda m: _OPTION_OF[m.group(1)], message)


def _request(**fields: Any) -> AgentCreate:
    from pydantic import ValidationError

    from convhub.agents.schemas import AgentCreate

    try:
        return AgentCreate(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{_OPTION_OF.get(str(e['loc'][0]), str(e['loc'][0]))}: {e['msg']}" if e["loc"]
            else _as_options(str(e["msg"]).removeprefix("Value error, "))
            for e in exc.errors()
        )
        fail(f"invalid agent: {problems}", code=2)


def read_documents(paths: list[Path]) -> list[tuple[str, str]]:
    """(name, text) of each file, checked as the API checks uploads; a bad file is a usage error (exit 2)."""
    from convhub.agents.documents import MAX_DOCUMENT_BYTES, decode_text, document_name, too_large
    from convhub.errors import ConvhubError

    documents: list[tuple[str, str]] = []
    for path in paths:
        name = document_name(path.name, "document.txt")
        try:
            if not path.is_file():
                fail(f"{path}: no such file", code=2)
            if path.stat().st_size > MAX_DOCUMENT_BYTES:
                raise too_large(name)
            documents.append((name, decode_text(name, path.read_bytes())))
        except OSError as exc:
            fail(f"{path}: cannot read it: {exc.strerror or exc}", code=2)
        except ConvhubError as exc:
            fail(f"{path}: {exc.message}", code=2)
    return documents


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="The agent's name.")],
    workspace: Workspace = "default",
    backend: Annotated[
        str, typer.Option("--backend", metavar="knowledge|openai",
                          help="knowledge: answers from its documents; openai: an OpenAI-compatible endpoint.")
    ] = "knowledge",
    docs: Annotated[
        list[Path] | None,
        typer.Option("--docs", metavar="FILE", help="Text or markdown files for a knowledge agent: --docs a.md b.md"),
    ] = None,
    more_docs: Annotated[list[Path] | None, typer.Argument(hidden=True, metavar="FILE")] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Anyone may open a realtime conversation with it, without a signed URL.")
    ] = False,
    system_prompt: Annotated[str | None, typer.Option("--system-prompt", help="The agent's system prompt.")] = None,
    context_budget: Annotated[
        int | None, typer.Option("--context-budget", metavar="CHARS",
                                 help="Characters of recent history the agent sees (default 8000).")
    ] = None,
    fallback_reply: Annotated[
        str | None, typer.Option("--fallback-reply", help="knowledge: the reply when nothing in the documents matches.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="openai: the endpoint's base URL, e.g. http://localhost:11434/v1.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="openai: the model name, e.g. llama3.1.")] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="CONVHUB_AGENT_API_KEY",
                                 help="openai: the endpoint's API key (stored encrypted, never shown again).")
    ] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", help="openai: 0 to 2.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="openai: the longest reply in tokens.")] = None,
) -> None:
    """Create a native agent (and the workspace if needed). The agent id is the last line of stdout."""
    if more_docs and not docs:
        fail(f"unexpected argument {str(more_docs[0])!r}: files go after --docs", code=2)
    if backend not in BACKENDS:
        fail(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}", code=2)
    files = [*(docs or []), *(more_docs or [])]
    if files and backend != "knowledge":
        fail("--docs is for knowledge agents; an openai agent answers from its model", code=2)
    body = _request(
        name=name, backend=backend, public=public, system_prompt=system_prompt, context_budget_chars=context_budget,
        fallback_reply=fallback_reply, base_url=base_url, model=model, api_key=api_key, temperature=temperature,
        max_tokens=max_tokens,
    )
    documents = read_documents(files)
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    agent, stored = run(_create(settings, workspace, body, documents))
    what = f"{len(stored)} document(s)" if agent.backend == "knowledge" else f"model {body.model} at {body.base_url}"
    note(f"Created {agent.backend} agent [bold]{agent.id}[/] ('{agent.name}') in workspace '{workspace}' "
         f"with {what}{'; public' if agent.public else ''}.")
    out(agent.id)


async def _create(
    settings: Settings, workspace: str, body: AgentCreate, documents: list[tuple[str, str]]
) -> tuple[Agent, list[AgentDocument]]:
    from convhub.agents import service
    from convhub.auth.service import ensure_workspace
    from convhub.cli._database import open_database
    from convhub.kit.secretbox import SecretBox

    box = SecretBox(settings.resolved_secret_key)
    async with open_database(settings) as database, database.session() as session:
        ws = await ensure_workspace(session, workspace)
        agent = await service.create_agent(session, ws.id, body, box, actor="cli")
        stored = await service.add_documents(session, ws.id, agent.id, documents, actor="cli") if documents else []
        return agent, stored


@app.command("list")
def list_(workspace: Workspace = "default") -> None:
    """List a workspace's agents: native ones and those mirrored from providers."""
    from rich.console import Console
    from rich.table import Table

    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    agents = run(_list(settings, workspace))
    if not agents:
        note(f"No agents in workspace '{workspace}'. "
             f"Create one with: convhub agents create --workspace {workspace} --name Helper --docs faq.md")
        return
    table = Table(title=f"Agents of workspace '{workspace}'", title_justify="left")
    for column in ("id", "name", "runs on", "public", "documents", "model"):
        table.add_column(column, no_wrap=column == "id")
    for a in agents:
        runs_on = a.backend if a.provider == "convhub" else f"{a.provider} ({a.provider_agent_id})"
        model = f"{a.model} at {a.base_url}" if a.backend == "openai" else "-"
        table.add_row(a.id, a.name, runs_on or "-", "yes" if a.public else "no",
                      str(a.document_count) if a.backend == "knowledge" else "-", model)
    # Piped output has no terminal width; keep rows whole rather than wrapped at 80 columns.
    Console(width=None if sys.stdout.isatty() else 240).print(table)


async def _list(settings: Settings, workspace: str) -> list[AgentRead]:
    from convhub.agents import service
    from convhub.auth.service import get_workspace
    from convhub.cli._database import open_database
    from convhub.errors import ConvhubError
    from convhub.kit.pagination import CursorCodec

    codec = CursorCodec(settings.resolved_secret_key)
    async with open_database(settings) as database, database.session() as session:
        try:
            ws = await get_workspace(session, workspace)
        except ConvhubError as exc:
            fail(exc.message)
        agents: list[AgentRead] = []
        cursor: str | None = None
        while True:
            page = await service.list_agents(session, ws.id, codec=codec, cursor=cursor)
            agents.extend(page.data)
            if page.next_cursor is None:
                return agents
            cursor = page.next_cursor


@app.command("delete")
def delete(agent_id: AgentRef, workspace: Workspace = "default") -> None:
    """Delete an agent and its documents (refused while it has conversations). Prints the id."""
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    agent = run(_delete(settings, workspace, agent_id))
    note(f"Deleted agent [bold]{agent.id}[/] ('{agent.name}') from workspace '{workspace}'.")
    out(agent.id)


async def _delete(settings: Settings, workspace: str, agent_id: str) -> Agent:
    from convhub.agents import service
    from convhub.auth.service import get_workspace
    from convhub.cli._database import open_database
    from convhub.errors import ConvhubError

    async with open_database(settings) as database, database.session() as session:
        try:
            ws = await get_workspace(session, workspace)
            return await service.delete_agent(session, ws.id, agent_id, actor="cli")
        except ConvhubError as exc:
            fail(exc.message)


@app.command("add-docs")
def add_docs(
    agent_id: AgentRef,
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Text or markdown files.")],
    workspace: Workspace = "default",
) -> None:
    """Add documents to a knowledge agent. Prints each new document's id, one per line."""
    documents = read_documents(files)
    from convhub.cli._database import load_settings, migrate

    settings = load_settings()
    migrate(settings)
    stored = run(_add_docs(settings, workspace, agent_id, documents))
    note(f"Added {len(stored)} document(s) to agent [bold]{agent_id}[/].")
    for document in stored:
        out(document.id)


async def _add_docs(
    settings: Settings, workspace: str, agent_id: str, documents: list[tuple[str, str]]
) -> list[AgentDocument]:
    from convhub.agents import service
    from convhub.auth.service import get_workspace
    from convhub.cli._database import open_database
    from convhub.errors import ConvhubError

    async with open_database(settings) as database, database.session() as session:
        try:
            ws = await get_workspace(session, workspace)
            return await service.add_documents(session, ws.id, agent_id, documents, actor="cli")
        except ConvhubError as exc:
            fail(exc.message)
