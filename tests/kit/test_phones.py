"""One person, one number: vendor spellings of a phone number agree in E.164."""

from __future__ import annotations

import pytest

from convhub.kit.phones import to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (415) 555-0123", None, "+14155550123"),
        ("14155550123", None, "+14155550123"),
        ("tel:+442071838750", None, "+442071838750"),
        ("(415) 555-0123", "US", "+14155550123"),
        ("020 7183 8750", "GB", "+442071838750"),
    ],
)
def test_spellings_normalise(raw: str, region: str | None, expected: str) -> None:
    assert to_e164(raw, region) == expected


def test_non_numbers_pass_through_trimmed_and_blanks_are_none() -> None:
    assert to_e164(" sip:alice@example.com ") == "sip:alice@example.com"
    assert to_e164("   ") is None
    assert to_e164(None) is None
