"""Checks shared by request models: functions that raise ``ValueError`` (pydantic ``AfterValidator`` or
``field_validator`` bodies).

One wording everywhere, so a client sees the same message for the same mistake
whichever endpoint it made it on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

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
