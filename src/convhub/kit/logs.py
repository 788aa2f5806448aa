"""No secret reaches a log line: signatures, tokens and keys in whatever is logged are replaced by ``[redacted]``.

The first place they leaked was uvicorn's access log (and its WebSocket lines on
``uvicorn.error``), which prints each request's path with its query string: a
realtime URL carries its ``conversation_signature`` or ``token`` there, and
anyone who reads the log could open the conversation with it. Any logger that
prints a URL or an exception about a request can do the same (httpx logs the URLs
it calls; a traceback can quote one).

Redaction happens once, where every record is made (the log record factory),
rather than in a filter on some loggers: a filter on a logger does not see the
records of its children, handlers are replaced whenever logging is configured
again, and a record that missed the filter would leak. :func:`install_log_redaction`
is idempotent; ``create_app`` and ``convhub serve``/``demo`` call it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

REDACTED = "[redacted]"

# Query parameters whose value is a credential (matched case-insensitively, by whole name).
SECRET_PARAMS = (
    "conversation_signature", "signature", "sig", "conversation_token", "token", "access_token", "refresh_token",
    "api_key", "apikey", "xi-api-key", "xi_api_key", "key", "secret", "client_secret", "password",
)
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:" + "|".join(map(re.escape, SECRET_PARAMS)) + r")=)[^&;#\s\"'<>]+")
# Credentials in headers quoted into a message, and passwords in URLs (redis://:pw@host, postgresql://u:pw@host).
_HEADER_SECRET = re.compile(
    r"(?i)(\bbearer\s+|\b(?:xi-api-key|x-vapi-secret|authorization)[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)"
    r"[^\s\"',;}&\[]{8,}"  # not "[": a value the query pattern already redacted
)
_URL_PASSWORD = re.compile(r"(//[^/\s:@]*:)[^@\s/]+@")
_SUSPECT = re.compile(r"(?i)=|bearer|xi-api-key|x-vapi-secret|authorization|@")  # a cheap test before the three above


def redact(text: str) -> str:
    """``text`` with the values of secret query parameters, bearer credentials and URL passwords replaced."""
    if not _SUSPECT.search(text):
        return text
    text = _QUERY_SECRET.sub(rf"\1{REDACTED}", text)
    text = _HEADER_SECRET.sub(rf"\1{REDACTED}", text)
    return _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)


def _redact_arg(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float):
        return value
    try:
        text = str(value)
    except Exception:  # an object that cannot say what it is cannot leak it either
        return value
    cleaned = redact(text)
    # Replaced by its redacted text only when it held a secret: a number formatted with %d stays a number.
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> None:
    """Redact ``record`` in place: its message, its arguments (keeping their positions, which formatters such
    as uvicorn's access formatter unpack) and its traceback."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, Mapping):
        record.args = {k: _redact_arg(v) for k, v in record.args.items()}
    elif record.args:
        record.args = tuple(_redact_arg(a) for a in record.args)
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters reuse exc_text when it is set, so the traceback is rendered once, here, redacted.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


class _RedactingFactory:
    """A log record factory that redacts what the one it wraps makes."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        redact_record(record)
        return record


def install_log_redaction() -> None:
    """Make every log record of this process redacted from now on (once, however often it is called)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(factory))
