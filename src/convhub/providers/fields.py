"""Strict readers of vendor JSON fields, shared by the mappers.

A value convhub files must have the type it expects: a wrong type raises
:class:`MappingError` naming the dotted field, so a bad conversation is reported,
not filed wrong. Absent and null are the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from convhub.providers.base import MappingError


def kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "object",
    }.get(type(value), type(value).__name__)


def as_mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MappingError(field, f"expected an object, got {kind(value)}")
    return value


def req_mapping(source: Mapping[str, Any], key: str, field: str) -> Mapping[str, Any]:
    value = opt_mapping(source, key, field)
    if value is None:
        raise MappingError(field, "missing")
    return value


def opt_mapping(source: Mapping[str, Any], key: str, field: str) -> Mapping[str, Any] | None:
    value = source.get(key)
    return None if value is None else as_mapping(value, field)


def req_str(source: Mapping[str, Any], key: str, field: str) -> str:
    value = opt_str(source, key, field)
    if not value:
        raise MappingError(field, "missing" if value is None else "must not be empty")
    return value


def opt_str(source: Mapping[str, Any], key: str, field: str) -> str | None:
    value = source.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MappingError(field, f"expected a string, got {kind(value)}")


def opt_text(source: Mapping[str, Any] | None, key: str, field: str) -> str | None:
    """A human-readable string; blank means absent."""
    value = None if source is None else opt_str(source, key, field)
    return value if value and value.strip() else None


def req_number(source: Mapping[str, Any], key: str, field: str) -> float:
    value = opt_number(source, key, field)
    if value is None:
        raise MappingError(field, "missing")
    return value


def opt_number(source: Mapping[str, Any], key: str, field: str) -> float | None:
    value = source.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(field, f"expected a number, got {kind(value)}")
    if not math.isfinite(value):
        raise MappingError(field, f"expected a finite number, got {value}")
    return value


def opt_bool(source: Mapping[str, Any], key: str, field: str) -> bool:
    value = source.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise MappingError(field, f"expected a boolean, got {kind(value)}")
    return value


