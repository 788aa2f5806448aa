"""Sortable, prefixed ids: ``conv_01J…`` (a ULID, so ids sort by creation time)."""

from __future__ import annotations

from ulid import ULID


def new_id(prefix: str) -> str:
    return f"{prefix}_{str(ULID()).lower()}"
