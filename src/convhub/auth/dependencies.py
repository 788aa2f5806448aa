"""FastAPI dependencies: the request's session, its authenticated subject, and the app's shared services
(cursor codec, secret box, blob store) as the endpoints of every domain take them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession

from convhub.auth.service import AuthSubject, authenticate
from convhub.errors import Forbidden
from convhub.kit.pagination import CursorCodec
from convhub.kit.secretbox import SecretBox
from convhub.storage.base import BlobStore

_xi_api_key = APIKeyHeader(name="xi-api-key", auto_error=False, description="API key (ElevenLabs style)")
_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back if it raises."""
    async with request.app.state.db.session() as session:
        yield session


# Function scope: the transaction commits before the response is sent, so a client that has its
# answer sees its write (and a failed commit is an error response, not a silent loss).
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_subject(
    session: Session,
    xi_api_key: Annotated[str | None, Depends(_xi_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthSubject:
    return await authenticate(session, xi_api_key or (bearer.credentials if bearer else None))


def api_key(xi_api_key: str | None, authorization: str | None) -> str | None:
    """The API key a request carries: its ``xi-api-key`` header, else the credentials of an ``Authorization:
    Bearer`` header (as :class:`~fastapi.security.HTTPBearer` reads it), else None."""
    if xi_api_key:
        return xi_api_key
    scheme, credentials = get_authorization_scheme_param(authorization)
    return credentials if scheme.lower() == "bearer" and credentials else None


def check_scope(subject: AuthSubject, scope: str) -> AuthSubject:
    """``subject``, when its key carries ``scope``; otherwise a 403 that names it."""
    if not subject.has(scope):
        raise Forbidden(f"This API key lacks the '{scope}' scope.")
    return subject


def require(scope: str) -> Callable[[AuthSubject], Awaitable[AuthSubject]]:
    """A dependency that passes the subject through when its key carries ``scope``."""

    async def check(subject: Annotated[AuthSubject, Depends(get_subject)]) -> AuthSubject:
        return check_scope(subject, scope)

    return check


ReadSubject = Annotated[AuthSubject, Depends(require("conversations:read"))]
WriteSubject = Annotated[AuthSubject, Depends(require("conversations:write"))]
SyncSubject = Annotated[AuthSubject, Depends(require("sync"))]


def _cursors(request: Request) -> CursorCodec:
    codec: CursorCodec = request.app.state.cursors
    return codec


def _secretbox(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secretbox
    return box


def _blobs(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blobs
    return store


Cursors = Annotated[CursorCodec, Depends(_cursors)]
Box = Annotated[SecretBox, Depends(_secretbox)]
Blobs = Annotated[BlobStore, Depends(_blobs)]
