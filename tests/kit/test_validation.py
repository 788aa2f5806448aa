"""kit/validation.py: JSON that both databases store alike, refused with a message that names the place."""

from __future__ import annotations

from typing import Any

import pytest

from convhub.kit.validation import check_storable


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
