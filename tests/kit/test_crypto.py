"""kit/crypto.py: signed payloads come back only unexpired, untouched and for the purpose they were made for."""

from __future__ import annotations

import base64
import json

import pytest

from convhub.kit.crypto import Signer, generate_api_key, hash_secret

NOW = 1_800_000_000.0


def test_a_signed_payload_verifies_to_itself_with_its_expiry() -> None:
    signer = Signer("server-secret", "signed-url")
    token = signer.sign({"agent_id": "agt_1", "conversation_id": None}, ttl_secs=900, now=NOW)

    assert signer.verify(token, now=NOW) == {"agent_id": "agt_1", "conversation_id": None, "exp": int(NOW) + 900}
    assert Signer("server-secret", "signed-url").verify(token, now=NOW) is not None  # another process, same secret


def test_it_expires_after_its_ttl_not_before() -> None:
    signer = Signer("server-secret", "token")
    token = signer.sign({"a": 1}, ttl_secs=60, now=NOW)

    assert signer.verify(token, now=NOW + 60) is not None
    assert signer.verify(token, now=NOW + 61) is None


@pytest.mark.parametrize("part", ["payload", "signature"])
def test_a_tampered_token_is_refused(part: str) -> None:
    signer = Signer("server-secret", "signed-url")
    token = signer.sign({"agent_id": "agt_1"}, ttl_secs=900, now=NOW)
    raw, mac = token.split(".")
    if part == "payload":  # a valid-looking payload for another agent, with a later expiry, under the old signature
        body = json.dumps({"agent_id": "agt_2", "exp": int(NOW) + 10**6}, separators=(",", ":")).encode()
        raw = base64.urlsafe_b64encode(body).decode().rstrip("=")
    else:
        mac = mac[:5] + ("A" if mac[5] != "A" else "B") + mac[6:]

    assert signer.verify(f"{raw}.{mac}", now=NOW) is None


def test_a_token_for_one_purpose_is_not_accepted_for_another() -> None:
    token = Signer("server-secret", "token").sign({"agent_id": "agt_1"}, ttl_secs=900, now=NOW)

    assert Signer("server-secret", "signed-url").verify(token, now=NOW) is None
    assert Signer("another-secret", "token").verify(token, now=NOW) is None
    assert Signer("server-secret", "token").verify(token, now=NOW) is not None


@pytest.mark.parametrize("token", ["", "no-dot", "a.b", "...", "\u00e9.\u00e9", "e30.e30"])
def test_garbage_is_refused_without_an_exception(token: str) -> None:
    assert Signer("server-secret", "token").verify(token, now=NOW) is None


def test_api_keys_are_random_and_looked_up_by_hash() -> None:
    keys = {generate_api_key() for _ in range(50)}
    assert len(keys) == 50 and all(k.startswith("chk_") and len(k) > 40 for k in keys)
    key = keys.pop()
    assert hash_secret(key) == hash_secret(key) != hash_secret(key + "x")
    assert key not in hash_secret(key)
