"""Phone numbers in one form (E.164), so one person is one key across providers."""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str | None, default_region: str | None = None) -> str | None:
    """``raw`` as E.164 (``+14155550123``) when it parses as a valid number, else trimmed as given.

    Vendors write numbers as ``+1 (415) 555-0123``, ``14155550123`` or ``tel:+1…``;
    without a leading ``+`` a number is read in ``default_region`` (an ISO country
    code) or, failing that, with an implied ``+``. SIP URIs and other non-numbers
    come back unchanged (trimmed); blanks become None.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    candidate = text.removeprefix("tel:")
    attempts = [(candidate, default_region)] if candidate.startswith("+") or default_region else []
    if not candidate.startswith("+"):
        attempts.append(("+" + candidate, None))
    for number, region in attempts:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return text
