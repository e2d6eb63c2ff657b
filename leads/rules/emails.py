"""E-mail addresses: checked by email-validator, kept in their lower-cased normal form."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from leads.rules.cells import INVISIBLE
from leads.rules.fastpaths import plain_email


def normalise_email(value: str) -> str | None:
    """The lower-cased normalised form of a valid address, None when it is not valid."""
    text = value.strip()
    return check_email(text) if text else None


# How mail programs and CRMs write one address with more around it: "John Smith <john@x.com>"
# (RFC 5322's name-addr) and "mailto:john@x.com" (a link's target, RFC 6068).
_NAME_ADDR_RE = re.compile(r"[^<>@]*<([^<>\s]+@[^<>\s]+)>")
_MAILTO = "mailto:"


def check_email(text: str) -> str | None:
    """Lower-cased normalised address, or None when email_validator rejects it.

    An address written as a name-addr or a mailto: link is the address inside it.
    """
    shortcut = plain_email(text)
    if shortcut is not None:
        return shortcut
    visible = text.translate(INVISIBLE).strip()
    if visible != text:
        return check_email(visible) if visible else None
    inner = _address_inside(text)
    if inner is not None:
        return plain_email(inner) or _validated_email(inner)
    return _validated_email(text)


def _address_inside(text: str) -> str | None:
    if text[: len(_MAILTO)].lower() == _MAILTO:
        return text[len(_MAILTO) :].strip()
    match = _NAME_ADDR_RE.fullmatch(text)
    return match.group(1) if match is not None else None


def _validated_email(text: str) -> str | None:
    """check_email() through email_validator alone, for any input."""
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None
