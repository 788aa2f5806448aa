"""``POST /v1/webhooks/{provider}/{connection_id}``: the vendors' post-call and status webhooks.

No API key: the vendor proves itself with the signature the connection's secret
verifies. The answer is immediate (the event is stored raw, processing follows
in the background); a redelivery is answered 200 without a second effect.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from convhub.errors import BadRequest, ConvhubError, NotFound, Unauthorized, error_responses
from convhub.webhooks import service

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class PayloadTooLarge(ConvhubError):
    status_code = 413
    code = "payload_too_large"


@router.post(
    "/{provider}/{connection_id}",
    summary="Receive a provider webhook",
    responses=error_responses(BadRequest, Unauthorized, NotFound, PayloadTooLarge),
)
async def receive_webhook(provider: str, connection_id: str, request: Request) -> JSONResponse:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > service.MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is larger than {service.MAX_BODY_BYTES} bytes.")
    body = await request.body()
    if len(body) > service.MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is larger than {service.MAX_BODY_BYTES} bytes.")
    state = request.app.state
    received = await service.receive(state.webhook_connections, state.webhook_intake, provider, connection_id,
                                     request.headers, body)
    # Committed: now the processor may see it.
    content: dict[str, Any] = {"status": "duplicate" if received.duplicate else "accepted",
                               "event_type": received.event_type}
    if not received.duplicate:
        state.webhook_processor.notify()
    return JSONResponse(content, status_code=200)
