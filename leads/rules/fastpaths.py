"""Shortcuts that give a validation library's answer for the plain inputs most leads carry.

Each returns the library's own result for a valid input it is sure of, and None for anything
else, which then goes to the library: the library alone decides what is invalid. Each stays
only while it saves at least a tenth of a batch's time; tests/leads/test_fastpaths.py checks
them against the libraries and is the test to run when a library is upgraded.
"""

from __future__ import annotations

import functools
import re

import email_validator
from email_validator import EmailNotValidError
from email_validator import validate_email as _ev_validate_email

# --- email -------------------------------------------------------------------------------------

# email_validator takes some 30 µs an address, half the rules' time on a lead; most addresses
# are plain ASCII (dot-atom local part, ASCII hostname), whose local part is already in
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


def plain_email(text: str) -> str | None:
    """The lower-cased normal form of a valid plain ASCII address; None: ask email_validator."""
    match = _SIMPLE_EMAIL_RE.fullmatch(text)
    if match is None or match.end(1) > _LOCAL_PART_MAX_LENGTH:
        return None
    local, domain = match.groups()
    checked = _domain_check(
        domain, email_validator.TEST_ENVIRONMENT, email_validator.GLOBALLY_DELIVERABLE
    )
    if checked is None or len(local) + 1 + checked[1] > _EMAIL_MAX_LENGTH:
        return None
    return f"{local}@{checked[0]}".lower()
