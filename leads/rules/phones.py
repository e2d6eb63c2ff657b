"""Phone numbers: checked with phonenumbers, kept in E.164 form."""

from __future__ import annotations

import functools

import phonenumbers

from leads.rules.fastpaths import plain_phone

_E164 = phonenumbers.PhoneNumberFormat.E164


@functools.lru_cache(maxsize=4096)
def check_phone(text: str, region: str) -> str | None:
    """E.164 form, or None when the number does not parse or is not a valid number."""
    shortcut = plain_phone(text, region)
    if shortcut is not None:
        return shortcut
    return _parsed_phone(text, region)


def _parsed_phone(text: str, region: str) -> str | None:
    """check_phone() through phonenumbers.parse(), for any input."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # Valid for the default region implies is_valid_number (that region is tried first for
    # its country code), at half the cost; anything else gets the full check.
    if not (
        phonenumbers.is_valid_number_for_region(number, region)
        or phonenumbers.is_valid_number(number)
    ):
        return None
    return phonenumbers.format_number(number, _E164)


def normalise_phone(value: str, region: str) -> str | None:
    """The E.164 form of a valid number (national numbers read in `region`), else None."""
    text = value.strip()
    return check_phone(text, region) if text else None
