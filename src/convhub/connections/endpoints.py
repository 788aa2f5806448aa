"""``/v1/providers``: a workspace's vendor connections (ElevenLabs, Retell, Vapi).

HTTP only: parse, call :mod:`convhub.connections.service`, shape the response.
Every route needs the ``sync`` scope: whoever may pull from a vendor account
may also point convhub at one. Secrets are accepted and never returned.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from convhub.auth.dependencies import Box, Session, SyncSubject
from convhub.connections import service
from convhub.connections.schemas import (
    ConnectionCreate,
    ConnectionPage,
    ConnectionRead,
    ConnectionTest,
    ConnectionUpdate,
)
from convhub.errors import NotFound, Unprocessable, error_responses
from convhub.kit.secretbox import SecretUnreadable

router = APIRouter(prefix="/v1/providers", tags=["providers"])

ConnectionId = Annotated[str, Path(alias="id", min_length=1, max_length=40, description="The connection's id.")]


@router.post(
    "",
    status_code=201,
    response_model=ConnectionRead,
    summary="Connect a provider account",
    description="Stores the account's credentials encrypted. With `sync_interval_secs` the first scheduled "
    "sync is due at once. The response's `webhook_url` is the path to give the vendor for webhooks.",
    responses=error_responses(Unprocessable),
)
async def create_connection(session: Session, subject: SyncSubject, box: Box, body: ConnectionCreate) -> ConnectionRead:
    connection = await service.create_connection(session, subject.workspace_id, body, box, actor=subject.key_id)
    return service.to_read(connection)


@router.get(
    "",
    response_model=ConnectionPage,
    summary="List provider connections",
    responses=error_responses(),
)
async def list_connections(session: Session, subject: SyncSubject) -> ConnectionPage:
    connections = await service.list_connections(session, subject.workspace_id)
    return ConnectionPage(data=[service.to_read(c) for c in connections])


@router.get(
    "/{id}",
    response_model=ConnectionRead,
    summary="Get a provider connection",
    responses=error_responses(NotFound, Unprocessable),
)
async def get_connection(session: Session, subject: SyncSubject, connection_id: ConnectionId) -> ConnectionRead:
    return service.to_read(await service.get_connection(session, subject.workspace_id, connection_id))


@router.patch(
    "/{id}",
    response_model=ConnectionRead,
    summary="Change a provider connection",
    description="Only the fields sent change. `null` clears `base_url`, `webhook_secret` and `sync_interval_secs` "
    "(no schedule); a new interval makes a sync due at once.",
    responses=error_responses(NotFound, Unprocessable),
)
async def update_connection(
    session: Session, subject: SyncSubject, box: Box, connection_id: ConnectionId, body: ConnectionUpdate
) -> ConnectionRead:
    connection = await service.update_connection(
        session, subject.workspace_id, connection_id, body, box, actor=subject.key_id
    )
    return service.to_read(connection)


@router.delete(
    "/{id}",
    status_code=204,
    response_class=Response,
    summary="Remove a provider connection",
    description="Removes the connection, its sync history and its stored webhook events. Conversations already "
    "synced stay.",
    responses={204: {"description": "Removed"}, **error_responses(NotFound, Unprocessable)},
)
async def delete_connection(session: Session, subject: SyncSubject, connection_id: ConnectionId) -> Response:
    await service.delete_connection(session, subject.workspace_id, connection_id, actor=subject.key_id)
    return Response(status_code=204)


@router.post(
    "/{id}/test",
    response_model=ConnectionTest,
    summary="Test a provider connection",
    description="Makes one authenticated call to the vendor. A vendor that does not answer or refuses the key is "
    "`ok: false` with the reason, not an error status.",
    responses=error_responses(NotFound, Unprocessable, SecretUnreadable),
)
async def test_connection(
    session: Session, subject: SyncSubject, box: Box, connection_id: ConnectionId
) -> ConnectionTest:
    connection = await service.get_connection(session, subject.workspace_id, connection_id)
    return await service.test_connection(connection, box)
