"""From a provider's name to its implementation: the one place that knows which vendors exist.

Connections, the sync engine and the webhook receiver hold a provider only as a
name (``"elevenlabs"``…); this module turns the name into the vendor's client,
mapper or webhook module. Imports are lazy so that naming a provider (the CLI's
``--help``, validating a request) never loads every vendor's code, and a vendor
package is loaded only when it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

if TYPE_CHECKING:
    import httpx

    from convhub.conversations.schemas import ConversationIn
    from convhub.providers.base import Provider, WebhookEvent

ProviderName = Literal["elevenlabs", "retell", "vapi"]
PROVIDER_NAMES: tuple[ProviderName, ...] = ("elevenlabs", "retell", "vapi")

_CLIENT_CLASSES: dict[str, str] = {
    "elevenlabs": "ElevenLabsProvider",
    "retell": "RetellProvider",
    "vapi": "VapiProvider",
}

Mapper = Callable[[Mapping[str, Any]], "ConversationIn"]


class WebhookModule(Protocol):
    """What ``convhub.providers.<name>.webhooks`` provides."""

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        api_key: str,
        secret: str | None,
        options: Mapping[str, Any],
        now: float,
    ) -> None:
        """Raise :class:`~convhub.providers.base.WebhookRejected` unless the delivery is authentic and fresh."""
        ...

    def parse(self, body: bytes) -> WebhookEvent:
        """The verified body as an event (raises ``WebhookRejected`` when it is not one)."""
        ...

    def merge(self, stored: Mapping[str, Any] | None, event: WebhookEvent) -> dict[str, Any] | None:
        """The vendor conversation object with ``event`` folded in, or None when the event adds nothing."""
        ...


def _known(name: str) -> str:
    if name not in PROVIDER_NAMES:
        raise ValueError(f"unknown provider {name!r}; known: {', '.join(PROVIDER_NAMES)}")
    return name


def build_provider(
    name: str,
    *,
    api_key: str,
    base_url: str | None = None,
    max_concurrency: int = 15,
    timeout: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
    max_attempts: int = 6,
) -> Provider:
    """An open client for one vendor account (``aclose`` it); ``base_url`` None means the vendor's own API."""
    module = import_module(f"convhub.providers.{_known(name)}.client")
    cls = getattr(module, _CLIENT_CLASSES[name])
    provider: Provider = cls(
        api_key,
        base_url,
        max_concurrency=max_concurrency,
        timeout=timeout,
        transport=transport,
        max_attempts=max_attempts,
    )
    return provider


def build_mapper(name: str) -> Mapper:
    """The vendor's pure mapping function, ``convhub.providers.<name>.mapper.conversation_from_<name>``."""
    module = import_module(f"convhub.providers.{_known(name)}.mapper")
    return cast(Mapper, getattr(module, f"conversation_from_{name}"))


def webhooks_module(name: str) -> WebhookModule:
    """``convhub.providers.<name>.webhooks``: signature verification, parsing and merging of its events."""
    return cast(WebhookModule, import_module(f"convhub.providers.{_known(name)}.webhooks"))
