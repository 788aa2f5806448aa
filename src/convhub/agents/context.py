"""What an agent sees when it replies: its system prompt, the conversation's metadata, recent history.

Every backend gets the same view, built here once: the chat endpoints, the
WebSocket and the tests hand over the stored turns and this decides what fits.
History is cut to the agent's context budget (characters, not tokens: no
tokenizer is needed and the bound is predictable for any model), newest turns
first, and the user's last message is always kept, because a reply that does
not see the question is worse than one that overruns the budget.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from convhub.agents.backends.base import ChatMessage
from convhub.models import Agent

DEFAULT_CONTEXT_BUDGET_CHARS = 8000
DEFAULT_SYSTEM_PROMPT = "You are {name}, a helpful assistant. Answer clearly and concisely."
METADATA_PREFIX = "Conversation metadata (JSON): "
NOTES_PREFIX = "What the application said about this conversation since it began, oldest first:"
MAX_NOTES = 20

# Stored turn roles as the model sees them; a human operator speaks for the agent. System and tool
# turns are the provider's own bookkeeping and are not replayed.
_ROLES: dict[str, Literal["user", "assistant"]] = {"user": "user", "agent": "assistant", "human_operator": "assistant"}


def system_prompt(agent: Agent) -> str:
    prompt = (agent.config or {}).get("system_prompt")
    return prompt if isinstance(prompt, str) and prompt.strip() else DEFAULT_SYSTEM_PROMPT.format(name=agent.name)


def context_budget(agent: Agent) -> int:
    budget = (agent.config or {}).get("context_budget_chars")
    return budget if isinstance(budget, int) and budget > 0 else DEFAULT_CONTEXT_BUDGET_CHARS


def build_messages(
    agent: Agent,
    history: Sequence[tuple[str, str]],
    metadata: Mapping[str, Any],
    *,
    prompt: str | None = None,
    notes: Sequence[str] = (),
) -> list[ChatMessage]:
    """The messages for a reply: system prompt, metadata (when any), the application's contextual updates
    (the last :data:`MAX_NOTES`), then the newest history that fits.

    ``history`` is the conversation's turns as (role, text), oldest first; ``prompt`` replaces the agent's
    system prompt (a realtime session's override).
    """
    messages = [ChatMessage("system", prompt if prompt and prompt.strip() else system_prompt(agent))]
    if metadata:
        compact = json.dumps(dict(metadata), separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)
        messages.append(ChatMessage("system", METADATA_PREFIX + compact))
    kept = [note for note in notes if note.strip()][-MAX_NOTES:]
    if kept:
        messages.append(ChatMessage("system", "\n".join([NOTES_PREFIX, *(f"- {note}" for note in kept)])))
    turns = [ChatMessage(_ROLES[role], text) for role, text in history if role in _ROLES and text.strip()]
    return messages + fit_budget(turns, context_budget(agent))


def fit_budget(turns: Sequence[ChatMessage], budget: int) -> list[ChatMessage]:
    """The newest turns whose text fits in ``budget`` characters, plus the last user message in any case."""
    last_user = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "user"), None)
    used = len(turns[last_user].content) if last_user is not None else 0
    kept = {last_user} if last_user is not None else set()
    for i in range(len(turns) - 1, -1, -1):
        if i == last_user:
            continue
        size = len(turns[i].content)
        if used + size > budget:
            break  # older turns would leave a gap in the middle of the conversation
        kept.add(i)
        used += size
    return [turn for i, turn in enumerate(turns) if i in kept]
