"""Tests for leads.rules.emails: which addresses are valid, and their normal form."""

import pytest

from leads import rules
from leads.rules import validate_lead
from tests.leads.rules_support import CTX, lead_fields


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" MJ@Example.co.uk ", "mj@example.co.uk"),
        ("john.smith@example.com", "john.smith@example.com"),
        ("O'Brien+Leads@Example.ORG", "o'brien+leads@example.org"),
        ("josé@example.com", "josé@example.com"),
        # One address with its name or link around it, as mail programs and CRMs copy it.
        ("John Smith <John@Example.com>", "john@example.com"),
        ('"Smith, John" <john@example.com>', "john@example.com"),
        ("MAILTO:john@example.com", "john@example.com"),
        ("mailto:josé@example.com", "josé@example.com"),
        # Pasted from a web page or a PDF with characters that show as nothing.
        ("tom.machin@example.org\u200b", "tom.machin@example.org"),
        ("\ufeffann@exam\u00adple.com", "ann@example.com"),
        ("John <john@example.com>\u2060", "john@example.com"),
    ],
)
def test_valid_email_is_normalised_lower_case(raw, expected):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == ([], expected)


@pytest.mark.parametrize(
    "raw",
    [
        "peter@@example.com",
        " no-at-sign ",
        "a@b",
        "john..smith@example.com",
        "x@example.com.",
        "John <john@example.com> <ann@example.com>",  # two addresses: neither is chosen
        "ann@example.com <john@example.com>",
        "mailto:",
        "<john@example.com",
        "\u200bpeter@@example.com",
    ],
)
def test_invalid_email_is_email_invalid_and_kept_trimmed(raw):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == (["email_invalid"], raw.strip())


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_email_is_not_checked(raw):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == ([], "")


def test_normalise_email_lower_cases_valid_addresses_only():
    assert rules.normalise_email(" John.Smith@Example.COM ") == "john.smith@example.com"
    assert rules.normalise_email("n/a") is None
    assert rules.normalise_email("") is None
