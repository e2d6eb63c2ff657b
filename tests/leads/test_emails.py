"""Tests for leads.rules.emails: which addresses are valid, and their normal form."""

import email_validator
import pytest

from leads import rules
from leads.rules import clean_lead, validate_lead
from tests.leads.rules_support import CTX, lead_fields


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" MJ@Example.co.uk ", "mj@example.co.uk"),
        ("john.smith@example.com", "john.smith@example.com"),
        ("O'Brien+Leads@Example.ORG", "o'brien+leads@example.org"),
        ("josé@example.com", "josé@example.com"),
    ],
)
def test_valid_email_is_normalised_lower_case(raw, expected):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == ([], expected)


@pytest.mark.parametrize(
    "raw",
    ["peter@@example.com", " no-at-sign ", "a@b", "john..smith@example.com", "x@example.com."],
)
def test_invalid_email_is_email_invalid_and_kept_trimmed(raw):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == (["email_invalid"], raw.strip())


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_email_is_not_checked(raw):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == ([], "")


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


def test_normalise_email_lower_cases_valid_addresses_only():
    assert rules.normalise_email(" John.Smith@Example.COM ") == "john.smith@example.com"
    assert rules.normalise_email("n/a") is None
    assert rules.normalise_email("") is None
