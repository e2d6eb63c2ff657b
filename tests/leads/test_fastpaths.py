"""The shortcuts give exactly what the libraries give: email_validator's verdict and form."""

import email_validator
import pytest

from leads.rules import clean_lead, fastpaths
from leads.rules.emails import _validated_email
from tests.leads.rules_support import CTX


def reference_email(raw):
    try:
        validated = email_validator.validate_email(raw.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    return validated.normalized.lower()


@pytest.mark.parametrize(
    "raw",
    [
        "john.smith@example.com",
        "INFO@Example.COM",
        "o'brien+tag@sub.example.org",
        "a@localhost",
        "a@example.test",
        "a@example.123",
        "a@ab--cd.com",
        "a@-example.com",
        "a@example-.com",
        "a@exa_mple.com",
        "a@.example.com",
        "a@example..com",
        ".john@example.com",
        "john.@example.com",
        "a@xn--bcher-kva.example",
        "A@XN--BCHER-KVA.EXAMPLE",
        "a@xn--zz.example",
        "a@münchen.de",
        "josé@example.com",
        '"quoted"@example.com',
        "Name <a@example.com>",
        "a@[127.0.0.1]",
        "a" * 64 + "@example.com",
        "a" * 65 + "@example.com",
        "a" * 242 + "@example.com",
        "a" * 243 + "@example.com",
        "a@" + "b" * 63 + ".com",
        "a@" + "b" * 64 + ".com",
        "a" * 232 + "@xn--bcher-kva.example",
        "a" * 233 + "@xn--bcher-kva.example",
        "a" * 232 + "@bücher.example",
        "a" * 63 + "@" + ".".join(["b" * 62, "b" * 63, "b" * 63]),
        "a" * 64 + "@" + ".".join(["b" * 62, "b" * 63, "b" * 63]),
        "a" * 64 + "@xn--bcher-kva." + ".".join(["b" * 63, "b" * 63, "b" * 47]),
        "a" * 64 + "@xn--bcher-kva." + ".".join(["b" * 63, "b" * 63, "b" * 48]),
        "a" * 233 + "@bücher.example",
    ],
)
def test_email_check_agrees_with_email_validator(raw):
    lead = clean_lead({"email": raw}, ctx=CTX)
    expected = reference_email(raw)
    assert lead.email_valid is (expected is not None)
    assert lead.email == (expected if expected is not None else raw.strip())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("john.smith@example.com", "john.smith@example.com"),
        ("INFO@Example.COM", "info@example.com"),
        ("o'brien+tag@sub.example.org", "o'brien+tag@sub.example.org"),
    ],
)
def test_plain_addresses_take_the_shortcut(raw, expected):
    assert fastpaths.plain_email(raw) == expected == _validated_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "josé@example.com",
        '"quoted"@example.com',
        "a@münchen.de",
        "peter@@example.com",
        "a@b",  # plain but invalid: email_validator gives the verdict
        "a@example..com",
    ],
)
def test_other_addresses_are_left_to_email_validator(raw):
    assert fastpaths.plain_email(raw) is None
