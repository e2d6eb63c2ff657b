"""E-mail addresses: checked by email-validator, kept in their lower-cased normal form."""

from __future__ import annotations

import functools
import re

import email_validator
from email_validator import EmailNotValidError
from email_validator import validate_email as _ev_validate_email

# Plain ASCII addresses (dot-atom local part, ASCII hostname): the local part is already in
# normal form, so email_validator's verdict depends only on the domain and the total length.
_ATEXT = r"A-Za-z0-9_!#$%&'*+/=?^`{|}~-"
_SIMPLE_EMAIL_RE = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@([A-Za-z0-9.-]+)")
_EMAIL_MAX_LENGTH = 254  # email_validator's limit, in UTF-8 bytes, on each form of the address
# Longer local parts take the full path, where email_validator.STRICT decides.
_LOCAL_PART_MAX_LENGTH = 64


@functools.lru_cache(maxsize=8192)
def _domain_check(
    domain: str, test_environment: bool, globally_deliverable: bool
) -> tuple[str, int] | None:
    """email_validator's verdict on a domain: (normalised domain, longest form in bytes) or None."""
    try:
        info = _ev_validate_email(
            "a@" + domain,
            check_deliverability=False,
            test_environment=test_environment,
            globally_deliverable=globally_deliverable,
        )
    except EmailNotValidError:
        return None
    longest = max(len(domain), len(info.domain.encode()), len(info.ascii_domain.encode()))
    return info.domain, longest


def normalise_email(value: str) -> str | None:
    """The lower-cased normalised form of a valid address, None when it is not valid."""
    text = value.strip()
    return check_email(text) if text else None


def check_email(text: str) -> str | None:
    """Lower-cased normalised address, or None when email_validator rejects it."""
    match = _SIMPLE_EMAIL_RE.fullmatch(text)
    if match is not None and match.end(1) <= _LOCAL_PART_MAX_LENGTH:
        local, domain = match.groups()
        checked = _domain_check(
            domain, email_validator.TEST_ENVIRONMENT, email_validator.GLOBALLY_DELIVERABLE
        )
        if checked is None or len(local) + 1 + checked[1] > _EMAIL_MAX_LENGTH:
            return None
        return f"{local}@{checked[0]}".lower()
    try:
        return _ev_validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None
