"""The one interface every reply backend implements, so chat, the WebSocket and tests see no difference.

A backend turns the conversation so far (already cut to the agent's context
budget, with its system prompt and the conversation's metadata as system
messages) into a reply, streamed as text deltas. It never touches the database:
the caller stores what was produced, including a partial reply when the client
went away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


class BackendError(Exception):
    """The backend could not produce a reply; ``message`` is safe to show the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AgentBackend(Protocol):
    def stream_reply(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        """The reply as text deltas (their concatenation is the reply). Raises :class:`BackendError`."""
        ...
