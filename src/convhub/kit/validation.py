"""Text checks shared by request models: pydantic ``AfterValidator`` functions that raise ``ValueError``.

One wording everywhere, so a client sees the same message for the same mistake
whichever endpoint it made it on.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import HttpUrl, TypeAdapter, ValidationError

_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def printable(value: str) -> str:
    """No control characters (names, ids, filters)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
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
