"""``Client`` and ``AsyncClient``: configuration plus the resources hanging off them."""

from __future__ import annotations

import httpx

from ._agents import Agents, AsyncAgents
from ._base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncAPIClient, SyncAPIClient
from ._events import AsyncEvents, Events
from ._messages import AsyncMessages, Messages
from ._resources import AsyncConversations, Conversations

__all__ = ["AsyncClient", "Client"]


class Client(SyncAPIClient):
    """Synchronous convhub client.

    ``api_key`` defaults to ``$CONVHUB_API_KEY``; ``base_url`` to ``$CONVHUB_BASE_URL``, then
    ``http://127.0.0.1:8000``. Failed requests are retried ``max_retries`` times (408, 409,
    429, 5xx, connection errors and timeouts) with exponential backoff, honouring Retry-After.
    Pass ``http_client`` to use your own ``httpx.Client`` (proxies, transports); it is then
    yours to close.
    """

    agents: Agents
    conversations: Conversations
    events: Events
    messages: Messages

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )
        self.agents = Agents(self)
        self.conversations = Conversations(self)
        self.events = Events(self)
        self.messages = Messages(self)


class AsyncClient(AsyncAPIClient):
    """Asynchronous convhub client; the same interface as ``Client``, awaited."""

    agents: AsyncAgents
    conversations: AsyncConversations
    events: AsyncEvents
    messages: AsyncMessages

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )
        self.agents = AsyncAgents(self)
        self.conversations = AsyncConversations(self)
        self.events = AsyncEvents(self)
        self.messages = AsyncMessages(self)
