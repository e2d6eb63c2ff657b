"""E-mail addresses: checked by email-validator, kept in their lower-cased normal form."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from leads.rules.fastpaths import plain_email


def normalise_email(value: str) -> str | None:
    """The lower-cased normalised form of a valid address, None when it is not valid."""
    text = value.strip()
    return check_email(text) if text else None


def check_email(text: str) -> str | None:
    """Lower-cased normalised address, or None when email_validator rejects it."""
    shortcut = plain_email(text)
    if shortcut is not None:
        return shortcut
    return _validated_email(text)


def _validated_email(text: str) -> str | None:
    """check_email() through email_validator alone, for any input."""
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None
