"""An in-memory provider account for engine tests: ElevenLabs-shaped bodies, knobs for trouble."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

from convhub.conversations.schemas import ConversationIn
from convhub.db import Database
from convhub.kit.crypto import hash_secret
from convhub.kit.ids import new_id
from convhub.kit.time import from_unix, utcnow
from convhub.models import ProviderConnection
from convhub.providers.base import ListedConversation, ListPage, TransientProviderError
from convhub.providers.elevenlabs.mapper import conversation_from_elevenlabs
from convhub.simulators.generate import generate_audio_bytes, generate_elevenlabs_conversations


class SimulatedKill(BaseException):
    """Not an Exception: the engine must not catch it, just as it cannot catch SIGKILL."""


class FakeAccount:
    """The vendor side: conversations by id, plus what went wrong and what was asked."""

    def __init__(self, n: int, *, seed: int = 1, page_size: int = 10) -> None:
        self.conversations = {c["conversation_id"]: c for c in generate_elevenlabs_conversations(n, seed=seed)}
        self.page_size = page_size
        self.detail_requests: list[str] = []
        self.audio_requests: list[str] = []
        self.list_requests = 0
        self.broken_details: set[str] = set()  # always 5xx
        self.crash_after_pages: int | None = None  # the process "dies" when asked for this page

    def ordered(self) -> list[dict[str, Any]]:
        return sorted(self.conversations.values(), key=lambda c: (c["metadata"]["start_time_unix_secs"],
                                                                   c["conversation_id"]), reverse=True)


class FakeProvider:
    name: ClassVar[str] = "elevenlabs"

    def __init__(self, account: FakeAccount) -> None:
        self.account = account

    async def list_page(self, cursor: str | None, *, since: datetime | None = None) -> ListPage:
        offset = int(cursor or 0)
        if self.account.crash_after_pages is not None and offset // self.account.page_size >= \
                self.account.crash_after_pages:
            raise SimulatedKill  # stands in for the process being killed mid-run
        self.account.list_requests += 1
        rows = [c for c in self.account.ordered()
                if since is None or c["metadata"]["start_time_unix_secs"] >= since.timestamp()]
        page = rows[offset : offset + self.account.page_size]
        items = [
            ListedConversation(
                provider_conversation_id=c["conversation_id"],
                started_at=from_unix(c["metadata"]["start_time_unix_secs"]),
                fingerprint=hashlib.sha256(repr((c["status"], c["metadata"].get("call_duration_secs"),
                                                 len(c["transcript"]))).encode()).hexdigest(),
                final=c["status"] in ("done", "failed"),
                provider_agent_id=c["agent_id"],
            )
            for c in page
        ]
        more = offset + self.account.page_size < len(rows)
        return ListPage(items=items, next_cursor=str(offset + self.account.page_size) if more else None)

    async def get_conversation(self, provider_conversation_id: str) -> dict[str, Any]:
        self.account.detail_requests.append(provider_conversation_id)
        if provider_conversation_id in self.account.broken_details:
            raise TransientProviderError(f"GET {provider_conversation_id}: HTTP 503")
        return dict(self.account.conversations[provider_conversation_id])

    def map_conversation(self, detail: Mapping[str, Any]) -> ConversationIn:
        return conversation_from_elevenlabs(detail)

    def stream_audio(self, provider_conversation_id: str, detail: Mapping[str, Any]) -> AsyncIterator[bytes] | None:
        if not detail.get("has_audio"):
            return None
        self.account.audio_requests.append(provider_conversation_id)

        async def chunks() -> AsyncIterator[bytes]:
            yield generate_audio_bytes(provider_conversation_id)

        return chunks()

    async def delete_conversation(self, provider_conversation_id: str) -> None:
        self.account.conversations.pop(provider_conversation_id, None)

    async def check(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


async def add_connection(database: Database, workspace_id: str, *, unknown_agents: str = "create",
                         sync_interval_secs: int | None = None) -> str:
    """A connection row as the engine needs it (the fake provider ignores its credentials)."""
    connection_id = new_id("pcon")
    async with database.session() as session:
        session.add(ProviderConnection(
            id=connection_id, workspace_id=workspace_id, provider="elevenlabs", name="fake",
            api_key_encrypted=hash_secret("unused"), api_key_hint="used", webhook_options={},
            unknown_agents=unknown_agents, max_concurrency=4, sync_state={}, created_at=utcnow(),
            sync_interval_secs=sync_interval_secs,
            updated_at=utcnow(),
        ))
    return connection_id
