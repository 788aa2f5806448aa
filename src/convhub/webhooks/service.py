"""Receiving a webhook: verify on the raw bytes, store the raw event once, hand it to the processor.

Nothing about the event is interpreted here beyond what idempotency needs (its
type, key and conversation id); the work happens in :mod:`.processor`, after the
200, so a vendor never waits on convhub's database work and never times out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers

from convhub.connections.repository import get_unscoped
from convhub.errors import BadRequest, NotFound, Unauthorized
from convhub.kit.secretbox import SecretBox
from convhub.kit.time import utcnow
from convhub.providers.base import WebhookRejected
from convhub.providers.registry import PROVIDER_NAMES, webhooks_module
from convhub.webhooks import repository

MAX_BODY_BYTES = 50 * 1024 * 1024  # post-call audio arrives base64-encoded in the body


@dataclass(frozen=True)
class Received:
    event_id: int | None  # None: a redelivery of an event already stored
    event_type: str
    workspace_id: str

    @property
    def duplicate(self) -> bool:
        return self.event_id is None


async def receive(
    session: AsyncSession,
    box: SecretBox,
    provider: str,
    connection_id: str,
    headers: Headers,
    body: bytes,
    *,
    now: float | None = None,
) -> Received:
    if provider not in PROVIDER_NAMES:
        raise NotFound(f"Unknown provider {provider!r}; webhooks are taken for {', '.join(PROVIDER_NAMES)}.")
    connection = await get_unscoped(session, connection_id)
    if connection is None or connection.provider != provider:
        raise NotFound(f"No {provider} connection {connection_id!r}: check the webhook URL.")
    module = webhooks_module(provider)
    secret = box.decrypt(connection.webhook_secret_encrypted) if connection.webhook_secret_encrypted else None
    try:
        module.verify(
            headers, body, api_key=box.decrypt(connection.api_key_encrypted), secret=secret,
            options=connection.webhook_options or {}, now=time.time() if now is None else now,
        )
    except WebhookRejected as exc:
        raise Unauthorized(f"Webhook rejected: {exc.message}") from exc
    try:
        event = module.parse(body)
    except WebhookRejected as exc:
        raise BadRequest(f"Webhook body not understood: {exc.message}") from exc
    event_id = await repository.store_event(
        session,
        {
            "workspace_id": connection.workspace_id,
            "connection_id": connection.id,
            "provider": provider,
            "event_type": event.event_type[:60],
            "event_key": event.event_key[:128],
            "provider_conversation_id": event.provider_conversation_id,
            "body": body,
            "status": "received",
            "attempts": 0,
            "received_at": utcnow(),
        },
    )
    return Received(event_id=event_id, event_type=event.event_type, workspace_id=connection.workspace_id)
