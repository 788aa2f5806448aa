"""Checks shared by request models: functions that raise ``ValueError`` (pydantic ``AfterValidator`` or
``field_validator`` bodies).

One wording everywhere, so a client sees the same message for the same mistake
whichever endpoint it made it on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, HttpUrl, TypeAdapter, ValidationError

from convhub.kit.time import as_utc, from_unix

_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
INSTANT_FORMS = ("an ISO 8601 date (2026-01-31) or date-time (2026-01-31T09:30:00Z, 2026-01-31T10:30:00+01:00), "
                 "or unix seconds (1769851800)")


def printable(value: str) -> str:
    """No control characters (names, ids, filters)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def header_safe(value: str) -> str:
    """Printable ASCII only: for a secret sent in an HTTP header (a vendor API key, a webhook bearer secret).

    HTTP clients refuse anything else at send time, so a key accepted with a newline or an accented letter would
    only fail later, at the first call to the vendor. The message names the position, never the character: the
    value is a secret.
    """
    for position, ch in enumerate(value, start=1):
        if ord(ch) < 32 or ord(ch) == 127:
            raise ValueError(f"must not contain control characters (one at position {position}): it is sent "
                             "in an HTTP header, which carries printable ASCII only")
        if ord(ch) > 126:
            raise ValueError(f"must not contain non-ASCII characters (one at position {position}): it is sent "
                             "in an HTTP header, which carries printable ASCII only")
    return value


def non_blank(value: str) -> str:
    """Stripped, and something left."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def no_nul(value: str) -> str:
    """No NUL characters: PostgreSQL cannot store them in text or JSON, so neither database gets one."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def http_url(example: str) -> Callable[[str], str]:
    """A check for an ``http(s)://`` base URL without query or fragment, returned without its trailing slash;
    ``example`` is shown in the error."""

    def check(value: str) -> str:
        value = value.strip()
        try:
            _HTTP_URL.validate_python(value)
        except ValidationError:
            raise ValueError(f"must be an http:// or https:// URL, e.g. {example}") from None
        if "?" in value or "#" in value:
            raise ValueError("must not carry a query string or fragment")
        return value.rstrip("/")

    return check


def check_storable(value: Any, name: str, *, max_depth: int) -> None:
    """JSON both databases store alike: no NUL character (PostgreSQL refuses them in text and JSON), no NaN or
    infinity (not JSON), nested at most ``max_depth`` levels. ``name`` is the field, the start of each path the
    message names (``metadata.customer[2]``)."""
    _check_storable(value, name, name, max_depth, 0)


def _check_storable(value: Any, name: str, path: str, max_depth: int, depth: int) -> None:
    if depth > max_depth:
        raise ValueError(f"{name} is nested deeper than {max_depth} levels")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path} contains a NUL character")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path} is not a finite number")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, name, f"a key in {path}", max_depth, depth + 1)
            _check_storable(item, name, f"{path}.{key}", max_depth, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_storable(item, name, f"{path}[{i}]", max_depth, depth + 1)


def _instant(value: Any) -> Any:
    """A date filter's value as a datetime, read here rather than by pydantic so that a value in no accepted form
    (``yesterday``, ``31/01/2026``) is told which forms are, instead of pydantic's "input is too short".

    A plain number is unix seconds (pydantic would read large ones as milliseconds); a date alone is its
    midnight (UTC unless an offset is given); a date-time without an offset is UTC.
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if _NUMBER.fullmatch(text):
                return from_unix(float(text))
            return datetime.fromisoformat(text)
        except (OverflowError, OSError):
            raise ValueError(f"{value!r} is out of range; expected {INSTANT_FORMS}") from None
        except ValueError:
            pass
    shown = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
    raise ValueError(f"{shown} is not a date; expected {INSTANT_FORMS}")


def _utc(value: datetime) -> datetime:
    """Naive means UTC; an offset at the calendar's edge can leave it, which is a bad date, not a crash."""
    try:
        return as_utc(value)
    except OverflowError:
        raise ValueError("date out of range once converted to UTC") from None


Instant = Annotated[datetime, BeforeValidator(_instant), AfterValidator(_utc)]
"""The type of every date filter: an aware UTC datetime from any of :data:`INSTANT_FORMS`."""
