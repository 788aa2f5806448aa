"""Receiving a webhook: verify on the raw bytes, store the raw event once, hand it to the processor.

Nothing about the event is interpreted here beyond what idempotency needs (its
type, key and conversation id); the work happens in :mod:`.processor`, after the
200, so a vendor never waits on convhub's database work and never times out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.datastructures import Headers

from convhub.errors import BadRequest, NotFound, Unauthorized
from convhub.kit.time import utcnow
from convhub.providers.base import WebhookRejected
from convhub.providers.registry import PROVIDER_NAMES, webhooks_module
from convhub.webhooks.intake import ConnectionCache, IntakeWriter

MAX_BODY_BYTES = 50 * 1024 * 1024  # post-call audio arrives base64-encoded in the body


@dataclass(frozen=True)
class Received:
    duplicate: bool  # a redelivery of an event already stored: no second effect
    event_type: str
    workspace_id: str


async def receive(
    connections: ConnectionCache,
    writer: IntakeWriter,
    provider: str,
    connection_id: str,
    headers: Headers,
    body: bytes,
    *,
    now: float | None = None,
) -> Received:
    if provider not in PROVIDER_NAMES:
        raise NotFound(f"Unknown provider {provider!r}; webhooks are taken for {', '.join(PROVIDER_NAMES)}.")
    connection = await connections.get(connection_id)
    if connection is None or connection.provider != provider:
        raise NotFound(f"No {provider} connection {connection_id!r}: check the webhook URL.")
    module = webhooks_module(provider)
    try:
        module.verify(
            headers, body, api_key=connection.api_key, secret=connection.webhook_secret,
            options=connection.webhook_options, now=time.time() if now is None else now,
        )
    except WebhookRejected as exc:
        raise Unauthorized(f"Webhook rejected: {exc.message}") from exc
    try:
        event = module.parse(body)
    except WebhookRejected as exc:
        raise BadRequest(f"Webhook body not understood: {exc.message}") from exc
    stored = await writer.store(
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
    return Received(duplicate=not stored, event_type=event.event_type, workspace_id=connection.workspace_id)
