"""``convhub chat AGENT_ID``: an interactive terminal chat with one of convhub's agents on a running server.

Built on the SDK only (never the server's code), so it is also the chat SDK's
full example: start a conversation, stream each reply as it comes, and end
with an optional rating. ``/end``, ``quit`` or end of input (Ctrl-D) ends it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from convhub.cli._common import fail, note

END_WORDS = frozenset({"/end", "/quit", "quit", "exit", "bye"})


def _ask(prompt: str) -> str | None:
    """One line from the user; None at end of input."""
    try:
        return input(prompt)
    except EOFError:
        return None


def _rating() -> int | None:
    while True:
        answer = _ask("Rate this conversation (1-5, Enter to skip): ")
        if answer is None or not answer.strip():
            return None
        if answer.strip() in {"1", "2", "3", "4", "5"}:
            return int(answer)
        note("A number from 1 to 5, or Enter to skip.")


def chat(
    agent_id: Annotated[str, typer.Argument(help="The agent to talk to (agt_…).")],
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="CONVHUB_WORKSPACE",
            help="The workspace the agent belongs to; the API key decides, this only labels the chat.",
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", envvar="CONVHUB_BASE_URL", help="The convhub server.")
    ] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="CONVHUB_API_KEY", help="An API key.")] = None,
) -> None:
    """Chat with an agent in the terminal; replies stream as they come. /end or Ctrl-D ends the chat."""
    from convhub.client import APIError, Client

    if not api_key:
        fail("No API key: pass --api-key or set CONVHUB_API_KEY (convhub keys create makes one).")
    try:
        with Client(api_key=api_key, base_url=base_url) as client:
            conversation = client.conversations.create(
                agent_id,
                entity_type="USER",
                metadata={"source": "cli", **({"workspace": workspace} if workspace else {})},
            )
            note(f"Conversation {conversation.id} started. Type /end (or Ctrl-D) to finish.")
            while (line := _ask("\nYou: ")) is not None:
                text = line.strip()
                if text.lower() in END_WORDS:
                    break
                if not text:
                    continue
                print("Agent: ", end="", flush=True)
                try:
                    with client.messages.stream(conversation.id, text) as stream:
                        for delta in stream:
                            print(delta.content, end="", flush=True)
                    print(flush=True)
                except APIError as exc:
                    print(flush=True)
                    note(f"[red]error:[/] {exc}")
            print(flush=True)
            rating = _rating()
            client.conversations.end(conversation.id, rating=rating)
            note("Conversation ended. Thank you!")
    except APIError as exc:
        fail(str(exc))
