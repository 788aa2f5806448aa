"""Opaque keyset cursors.

A cursor is the sort key of the last row a page returned, signed so a client
can neither forge nor corrupt it (a tampered cursor is a 422, not a 500).
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


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("cursor:" + secret).encode()).digest()

    def encode(self, payload: dict[str, Any]) -> str:
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")

    def decode(self, cursor: str, *, param: str = "cursor") -> dict[str, Any]:
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
        return payload
