"""Opaque keyset cursors.

A cursor is the sort key of the last row a page returned, signed so a client
can neither forge nor corrupt it (a tampered cursor is a 422, not a 500), and
bound to the listing and sort order it pages (one cursor, one meaning).
Keyset pagination never skips or repeats a row while others are inserted,
unlike offsets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from convhub.errors import Unprocessable

_SCOPE = "~"  # the payload key of the listing a cursor belongs to


class CursorCodec:
    """Signs cursors with the server's secret; ``scope`` binds one to the listing and sort order it pages."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("cursor:" + secret).encode()).digest()

    def encode(self, payload: dict[str, Any], *, scope: str | None = None) -> str:
        body = payload if scope is None else {**payload, _SCOPE: scope}
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")

    def decode(self, cursor: str, *, scope: str | None = None, param: str = "cursor") -> dict[str, Any]:
        """The payload of a cursor this server made for the same ``scope``; a 422 for any other."""
        try:
            blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            mac, raw = blob[:12], blob[12:]
            valid = hmac.compare_digest(mac, hmac.new(self._key, raw, hashlib.sha256).digest()[:12])
            payload = json.loads(raw) if valid else None
        except (ValueError, TypeError):
            payload = None
        if not isinstance(payload, dict):
            raise Unprocessable(
                "Invalid cursor: pass the next_cursor value of a previous page unchanged.", loc=("query", param)
            )
        if payload.pop(_SCOPE, None) != scope:
            raise Unprocessable("This cursor belongs to a different sort order or listing; start again without it.",
                                loc=("query", param))
        return payload
