"""Encryption of the provider secrets convhub has to read back (vendor API keys, webhook secrets).

Unlike convhub's own API keys, which are only ever compared and so are stored
hashed, a vendor key must be sent to the vendor, so it is stored encrypted:
Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key derived
from convhub's secret key. The derivation names its purpose, so the same secret
key signing cursors or URLs never doubles as this encryption key.

Tokens made under one secret key do not open under another: changing
``CONVHUB_SECRET_KEY`` makes stored credentials unreadable, which is reported as
:class:`SecretUnreadable` (saying so) rather than as a cryptography traceback.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict

from cryptography.fernet import Fernet, InvalidToken

from convhub.errors import ConvhubError

_PURPOSE = b"convhub provider secrets"
# Tokens decrypted lately, kept: an agent's model key is read back for every chat message, and Fernet's
# HMAC and AES cost more than the rest of opening the agent.
_REMEMBERED = 256


class SecretUnreadable(ConvhubError):
    """A stored secret that the current secret key cannot decrypt."""

    status_code = 500
    code = "secret_unreadable"


class SecretBox:
    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("secret_key must not be empty")
        derived = hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))
        self._opened: OrderedDict[str, str] = OrderedDict()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        if (plaintext := self._opened.get(token)) is not None:
            self._opened.move_to_end(token)
            return plaintext
        try:
            plaintext = self._fernet.decrypt(token.encode("ascii", errors="replace")).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "A stored provider secret cannot be decrypted with this server's secret key: it was encrypted "
                "under another CONVHUB_SECRET_KEY (or the stored value is corrupt). Restore the original secret "
                "key, or enter the credential again."
            ) from None
        self._opened[token] = plaintext
        if len(self._opened) > _REMEMBERED:
            self._opened.popitem(last=False)
        return plaintext
