"""Domain errors that know their HTTP status, and the one handler that renders them.

Every error body has the ElevenLabs shape ``{"detail": {"status", "message"}}``;
request validation keeps FastAPI's ``{"detail": [{"loc", "msg", "type"}]}`` (422),
which is also the ElevenLabs shape.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ConvhubError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class BadRequest(ConvhubError):
    status_code = 400
    code = "bad_request"


class Unauthorized(ConvhubError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ConvhubError):
    status_code = 403
    code = "forbidden"


class NotFound(ConvhubError):
    status_code = 404
    code = "not_found"


class Conflict(ConvhubError):
    status_code = 409
    code = "conflict"


class Unprocessable(ConvhubError):
    """A well-formed request whose values make no sense (a bad filter, a bad cursor)."""

    status_code = 422
    code = "invalid_request"

    def __init__(self, message: str, *, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


class ProviderUnavailable(ConvhubError):
    status_code = 503
    code = "provider_unavailable"


class ErrorInfo(BaseModel):
    status: str
    message: str


class ErrorBody(BaseModel):
    """The body of every non-422 error."""

    detail: ErrorInfo


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[ValidationIssue]


def error_responses(*errors: type[ConvhubError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the domain errors an endpoint can raise."""
    responses: dict[int | str, dict[str, Any]] = {
        401: {"model": ErrorBody, "description": "Missing, unknown or revoked API key"},
        403: {"model": ErrorBody, "description": "The key lacks the scope this endpoint needs"},
    }
    for err in errors:
        # Unprocessable renders like request validation, so it documents that shape.
        model = ValidationErrorBody if issubclass(err, Unprocessable) else ErrorBody
        responses[err.status_code] = {"model": model, "description": err.__doc__ or err.code}
    return responses


def _body(code: str, message: str) -> dict[str, Any]:
    return {"detail": {"status": code, "message": message}}


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 429: "rate_limited"}


def error_response(exc: ConvhubError) -> JSONResponse:
    """How a domain error is answered, wherever it is raised (a WebSocket handshake refuses the same way)."""
    if isinstance(exc, Unprocessable):
        issue = {"loc": list(exc.loc), "msg": exc.message, "type": "value_error"}
        return JSONResponse({"detail": [issue]}, status_code=422)
    return JSONResponse(_body(exc.code, exc.message), status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConvhubError)
    async def _domain(_: Request, exc: ConvhubError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = "No such endpoint. See /docs for the API."
        return JSONResponse(_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        issues = [
            {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
            for err in exc.errors()
        ]
        return JSONResponse({"detail": issues}, status_code=422)
