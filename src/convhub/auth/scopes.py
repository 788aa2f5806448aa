"""The scopes an API key can carry."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    conversations_read = "conversations:read"
    conversations_write = "conversations:write"
    agents_write = "agents:write"
    sync = "sync"
    privacy = "privacy"
    admin = "admin"


ALL_SCOPES: tuple[str, ...] = tuple(s.value for s in Scope)


def parse_scopes(text: str) -> list[str]:
    """``"all"`` or a comma list such as ``"conversations:read,sync"``; unknown names raise ValueError."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("no scopes given")
    if names == ["all"]:
        return list(ALL_SCOPES)
    unknown = sorted(set(names) - set(ALL_SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(ALL_SCOPES)}, or all")
    return sorted(set(names), key=ALL_SCOPES.index)
