"""Tests for leads.rules.phones: which numbers are valid, and their E.164 form."""

import pytest

from leads import rules
from leads.rules import RuleContext, validate_lead
from tests.leads.rules_support import CTX, TODAY, lead_fields


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("07911 123457", "+447911123457"),
        ("+44 7911 123457", "+447911123457"),
        (" (07911) 123-457 ", "+447911123457"),
        ("0044 7911 123457", "+447911123457"),
        ("020 7946 0958", "+442079460958"),
        ("+1 650 253 0000", "+16502530000"),
        (7911123457, "+447911123457"),
        (7911123457.0, "+447911123457"),
    ],
)
def test_valid_phone_is_normalised_to_e164(raw, expected):
    result = validate_lead(lead_fields(phone=raw), ctx=CTX)
    assert (result.errors, result.lead.phone) == ([], expected)


@pytest.mark.parametrize("raw", ["12345", " 07911 12345 ", "not a phone", "+44 0000 000000"])
def test_invalid_phone_is_phone_invalid_and_kept_trimmed(raw):
    result = validate_lead(lead_fields(phone=raw), ctx=CTX)
    assert (result.errors, result.lead.phone) == (["phone_invalid"], raw.strip())


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_phone_is_not_checked(raw):
    result = validate_lead(lead_fields(phone=raw), ctx=CTX)
    assert (result.errors, result.lead.phone) == ([], "")


def test_phone_default_region_comes_from_the_context():
    ctx = RuleContext(today=TODAY, phone_region="US")
    result = validate_lead(lead_fields(phone="(650) 253-0000"), ctx=ctx)
    assert (result.errors, result.lead.phone) == ([], "+16502530000")


def test_normalise_phone_gives_e164_or_none():
    assert rules.normalise_phone("07911 123456", "GB") == "+447911123456"
    assert rules.normalise_phone("12", "GB") is None
    assert rules.normalise_phone(" ", "GB") is None
