"""The Provider protocol: what the sync engine and the webhook processor need from a vendor.

One package per vendor (``providers/elevenlabs``, ``providers/retell``,
``providers/vapi``) implements it with three modules:

* ``client.py`` — the vendor's HTTP API on :class:`convhub.providers.http.VendorHTTP`
  (one place for retries, the concurrency bound and error translation);
* ``mapper.py`` — pure functions from the vendor's JSON to ``ConversationIn``;
* ``webhooks.py`` — signature verification on the raw bytes and event parsing.

Nothing outside ``providers/`` knows a vendor's field names: the engine sees
:class:`ListedConversation`, ``ConversationIn`` and :class:`WebhookEvent` only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from convhub.conversations.schemas import ConversationIn

# ------------------------------------------------------------------ errors


class ProviderError(Exception):
    """A vendor call failed. ``retryable`` says whether the same call may succeed later."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


class TransientProviderError(ProviderError):
    """5xx, timeout, dropped connection or a body that is not the JSON promised: try again later."""

    retryable = True


class RateLimited(TransientProviderError):
    """429: the vendor wants fewer concurrent requests (``retry_after`` seconds, when it said)."""


class PermanentProviderError(ProviderError):
    """4xx other than 429: the same call will fail again (bad credentials, bad request)."""


class AuthenticationFailed(PermanentProviderError):
    """401/403: the connection's API key is not accepted."""


class ConversationGone(PermanentProviderError):
    """404 for one conversation: the vendor no longer has it."""


class MappingError(ValueError):
    """A vendor body is not a conversation convhub can file; ``field`` names the offending value."""

    def __init__(self, field: str, problem: str, *, conversation_id: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.conversation_id = conversation_id
        where = f" (conversation {conversation_id})" if conversation_id else ""
        super().__init__(f"{field}: {problem}{where}")


class WebhookRejected(Exception):
    """The delivery is not authentic or not fresh; ``message`` says why (it is shown to the sender)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------ listing


@dataclass(frozen=True, slots=True)
class ListedConversation:
    """One item of a vendor's conversation list, reduced to what the engine decides with.

    ``fingerprint`` changes whenever the vendor's list item changes (status, end,
    analysis…); an unchanged fingerprint of a final conversation means no detail
    request. ``detail`` is set when the list item already is the whole
    conversation (the engine then skips the detail request altogether).
    """

    provider_conversation_id: str
    started_at: datetime
    fingerprint: str
    final: bool
    provider_agent_id: str | None = None
    agent_name: str | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ListPage:
    """A page of the vendor's list, newest first. ``next_cursor`` is None on the last page.

    The cursor is an opaque string the engine stores as its checkpoint and hands
    back to :meth:`Provider.list_page` to resume, so it must survive a restart.
    """

    items: list[ListedConversation]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified vendor event, parsed.

    ``event_key`` identifies the delivery's content (a redelivery has the same
    key); ``conversation`` is the vendor conversation object the event carries,
    possibly partial; ``stage`` orders the events of one conversation (a later
    stage never loses to an earlier one arriving late); ``audio_base64`` is set
    by events that carry the recording.
    """

    event_type: str
    event_key: str
    provider_conversation_id: str | None
    conversation: dict[str, Any] | None = None
    stage: int = 0
    occurred_at: datetime | None = None
    audio_base64: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ the protocol


class Provider(Protocol):
    """A connected vendor account. Implementations hold an open HTTP client: ``aclose`` it."""

    name: ClassVar[str]

    async def list_page(self, cursor: str | None, *, since: datetime | None = None) -> ListPage:
        """One page of conversations newest first; ``since`` keeps only those started at or after it."""
        ...

    async def get_conversation(self, provider_conversation_id: str) -> dict[str, Any]:
        """The vendor's full conversation object (transcript included)."""
        ...

    def map_conversation(self, detail: Mapping[str, Any]) -> ConversationIn:
        """Pure: the vendor object onto convhub's normalized model (raises :class:`MappingError`)."""
        ...

    def stream_audio(self, provider_conversation_id: str, detail: Mapping[str, Any]) -> AsyncIterator[bytes] | None:
        """The recording as chunks, or None when the conversation has none. Never whole in memory."""
        ...

    async def delete_conversation(self, provider_conversation_id: str) -> None: ...

    async def check(self) -> None:
        """Make one cheap authenticated call; raise :class:`ProviderError` if it fails."""
        ...

    async def aclose(self) -> None: ...
