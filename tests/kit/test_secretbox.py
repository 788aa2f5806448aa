"""kit/secretbox.py: stored vendor secrets read back, and only under the key they were stored with."""

from __future__ import annotations

import pytest

from convhub.kit.secretbox import SecretBox, SecretUnreadable


def test_a_secret_reads_back_the_same_every_time() -> None:
    box = SecretBox("server-secret")
    token = box.encrypt("sk-live-1")
    assert token != "sk-live-1"
    assert [box.decrypt(token) for _ in range(3)] == ["sk-live-1"] * 3


def test_another_servers_key_cannot_read_it_even_after_this_one_did() -> None:
    mine, theirs = SecretBox("server-secret"), SecretBox("another-secret")
    token = mine.encrypt("sk-live-1")
    assert mine.decrypt(token) == "sk-live-1"  # now remembered by this box only
    with pytest.raises(SecretUnreadable, match="CONVHUB_SECRET_KEY"):
        theirs.decrypt(token)


def test_a_corrupt_token_is_refused_every_time() -> None:
    box = SecretBox("server-secret")
    token = box.encrypt("sk-live-1")
    corrupt = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(SecretUnreadable):
            box.decrypt(corrupt)


def test_many_secrets_each_read_back_as_their_own() -> None:
    box = SecretBox("server-secret")
    tokens = {f"sk-{n}": box.encrypt(f"sk-{n}") for n in range(600)}  # more than it keeps at hand
    for _ in range(2):
        assert all(box.decrypt(token) == plain for plain, token in tokens.items())
