"""The shared date-filter type: every accepted form reads as the same UTC instant; others are named in the error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from convhub.kit.validation import Instant

INSTANT: TypeAdapter[datetime] = TypeAdapter(Instant)
NINE_THIRTY = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-31T09:30:00Z", NINE_THIRTY),
        ("2026-01-31T10:30:00+01:00", NINE_THIRTY),
        ("2026-01-31T09:30:00", NINE_THIRTY),  # no offset: UTC
        (" 2026-01-31T09:30:00Z ", NINE_THIRTY),
        ("2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),  # a date: its midnight
        ("1769851800", NINE_THIRTY),  # unix seconds, not milliseconds
        ("1769851800.0", NINE_THIRTY),
        (1769851800, NINE_THIRTY),
    ],
)
def test_accepted_forms(value: object, expected: datetime) -> None:
    assert INSTANT.validate_python(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "", "31/01/2026", "2026-13-01", "2026-01-31T25:00:00Z", "next week"])
def test_other_forms_name_the_accepted_ones(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        INSTANT.validate_python(value)
    message = caught.value.errors()[0]["msg"]
    assert repr(value) in message
    assert "ISO 8601 date (2026-01-31)" in message
    assert "date-time" in message
    assert "unix seconds" in message


@pytest.mark.parametrize("value", ["99999999999999999999", "9999-12-31T23:59:59-01:00"])
def test_out_of_range_is_said_so(value: str) -> None:
    with pytest.raises(ValidationError, match="out of range"):
        INSTANT.validate_python(value)
