"""Message ids: ULIDs as python-ulid writes them, made by hand for speed, so checked against the library."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from ulid import ULID

from convhub.kit.ids import new_id, new_message_id


def test_a_message_id_is_a_ulid_of_now_written_like_every_other_id() -> None:
    before = datetime.now(UTC)
    ids = [new_message_id() for _ in range(2000)]
    after = datetime.now(UTC)

    assert len(set(ids)) == len(ids)
    for message_id in ids:
        assert message_id.startswith("msg_") and len(message_id) == len(new_id("msg")) == 30
        parsed = ULID.from_str(message_id.removeprefix("msg_").upper())
        assert f"msg_{str(parsed).lower()}" == message_id
        assert before - timedelta(milliseconds=1) <= parsed.datetime <= after


def test_message_ids_sort_by_when_they_were_made_even_within_a_millisecond() -> None:
    burst = [new_message_id() for _ in range(2000)]  # many share a millisecond
    spaced = []
    for _ in range(5):
        spaced.append(new_message_id())
        time.sleep(0.002)

    assert burst == sorted(burst) and spaced == sorted(spaced) and burst[-1] < spaced[0]
    assert spaced[-1] < new_id("msg")  # and among ids the library makes
