"""Secrets: API key generation and hashing, HMAC signatures with expiry.

API keys are 256-bit random strings, so a plain SHA-256 of the secret is a safe
lookup hash (no slow KDF needed, unlike passwords).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

KEY_PREFIX = "chk_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Compact HMAC-SHA256 signed payloads with an expiry, under a named purpose.

    The purpose is mixed into the key, so a token minted for one use (say a
    WebRTC token) is never accepted as another (a signed URL).
    """

    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()

    def sign(self, payload: dict[str, Any], ttl_secs: int, *, now: float | None = None) -> str:
        body = dict(payload, exp=int((now or time.time()) + ttl_secs))
        raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, raw, hashlib.sha256).digest()
        return f"{_b64(raw)}.{_b64(mac)}"

    def verify(self, token: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The payload when the signature is valid and unexpired, else None."""
        try:
            raw_part, mac_part = token.split(".", 1)
            raw, mac = _unb64(raw_part), _unb64(mac_part)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, hmac.new(self._key, raw, hashlib.sha256).digest()):
            return None
        try:
            payload = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
            return None
        if payload["exp"] < (now or time.time()):
            return None
        return payload
