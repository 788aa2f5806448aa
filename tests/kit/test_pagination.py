"""kit/pagination.py: a cursor reads back as it was made, on this server, for this listing, and nothing else does."""

from __future__ import annotations

import base64

import pytest

from convhub.errors import Unprocessable
from convhub.kit.pagination import CursorCodec

PAYLOAD = {"v": "2026-10-01T09:00:00+00:00", "id": "conv_01", "n": 3, "caf\u00e9": None}


def _refused(codec: CursorCodec, cursor: str, **kwargs: str) -> Unprocessable:
    with pytest.raises(Unprocessable) as excinfo:
        codec.decode(cursor, **kwargs)
    assert excinfo.value.status_code == 422
    return excinfo.value


def test_a_cursor_round_trips_and_is_url_safe() -> None:
    codec = CursorCodec("server-secret")
    cursor = codec.encode(PAYLOAD, scope="conversations:started_at:desc")

    assert codec.decode(cursor, scope="conversations:started_at:desc") == PAYLOAD
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert codec.decode(codec.encode({"id": "a"})) == {"id": "a"}


@pytest.mark.parametrize("position", [0, 8, 20, 40, -2], ids=["mac", "mac-end", "payload", "mid", "end"])
def test_a_tampered_cursor_is_refused_with_a_clear_422(position: int) -> None:
    codec = CursorCodec("server-secret")
    cursor = codec.encode(PAYLOAD)
    i = position % len(cursor)  # not the last character: some of its bits are padding
    changed = cursor[:i] + ("A" if cursor[i] != "A" else "B") + cursor[i + 1:]

    error = _refused(codec, changed, param="after")
    assert str(error) == "Invalid cursor: pass the next_cursor value of a previous page unchanged."
    assert error.loc == ("query", "after")


def test_a_forged_payload_without_the_servers_secret_is_refused() -> None:
    codec = CursorCodec("server-secret")
    forged = base64.urlsafe_b64encode(bytes(12) + b'{"id":"conv_99"}').decode().rstrip("=")

    _refused(codec, forged)
    _refused(codec, CursorCodec("another-server").encode(PAYLOAD))  # another server's cursor, valid there


@pytest.mark.parametrize("garbage", ["", "x", "!!!!", "not a cursor at all", "a" * 3000, "\u00e9\u00e9"])
def test_garbage_is_refused_not_a_server_error(garbage: str) -> None:
    _refused(CursorCodec("server-secret"), garbage)


def test_a_cursor_is_bound_to_its_sort_order() -> None:
    codec = CursorCodec("server-secret")
    newest_first = codec.encode(PAYLOAD, scope="conversations:started_at:desc")

    for other in ("conversations:started_at:asc", "conversations:duration_secs:desc", None):
        error = _refused(codec, newest_first, **({"scope": other} if other else {}))
        assert "different sort order" in str(error) and error.loc == ("query", "cursor")
    # and a cursor made for no listing in particular is not taken for one
    _refused(codec, codec.encode(PAYLOAD), scope="conversations:started_at:desc")
