"""kit/validation.py: JSON both databases store alike, and the shared date-filter type; refusals name the place
or the accepted forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from convhub.kit.validation import Instant, check_storable

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



def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


def test_ordinary_json_passes() -> None:
    check_storable({"a": [1, 2.5, "caf\u00e9 \U0001f44b", None, True, {"b": []}], "": ""}, "metadata", max_depth=4)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"note": "a\x00b"}, "metadata.note contains a NUL character"),
        ({"k\x00": 1}, "a key in metadata contains a NUL character"),
        ({"tags": ["ok", "x\x00"]}, r"metadata.tags\[1\] contains a NUL character"),
        ({"score": float("nan")}, "metadata.score is not a finite number"),
        ({"a": {"b": [float("-inf")]}}, r"metadata.a.b\[0\] is not a finite number"),
    ],
)
def test_what_postgresql_or_json_cannot_hold_is_refused_by_its_path(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        check_storable(value, "metadata", max_depth=32)


def test_nesting_is_bounded_by_the_callers_depth() -> None:
    check_storable(_nested(8), "webhook_options", max_depth=8)
    with pytest.raises(ValueError, match=r"^webhook_options is nested deeper than 8 levels$"):
        check_storable(_nested(9), "webhook_options", max_depth=8)
