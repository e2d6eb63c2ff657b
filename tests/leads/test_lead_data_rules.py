"""The lead's own data: full names split, UK postcodes, consent dates."""

import datetime

import pytest

from leads.rules import (
    RuleContext,
    message_for,
    normalise_postcode,
    parse_consent_at,
    split_full_name,
    validate_lead,
)

UTC = datetime.UTC
UPLOADED = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VALID = {"first_name": "John", "last_name": "Smith", "dob": "15/03/1990"}


def ctx(**kwargs):
    return RuleContext(today=UPLOADED.date(), uploaded_at=UPLOADED, **kwargs)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Smith, John", "John", "Smith"),
        ("Dr Mary-Jane van der Berg", "Mary-Jane", "van der Berg"),
        ("John Paul Smith", "John Paul", "Smith"),
        ("Mr John (Jack) Smith Jr", "John", "Smith"),
        ("SMITH John", "John", "SMITH"),
        ("SMITH John Paul", "John Paul", "SMITH"),
        ("JOHN SMITH", "JOHN", "SMITH"),
        ("Madonna", "", "Madonna"),
        ("  jean   de la cruz ", "jean", "de la cruz"),
        ("", "", ""),
    ],
)
def test_full_names_split_deterministically(full, first, last):
    assert split_full_name(full) == (first, last)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" SW1A  1AA ", "SW1A 1AA"),
        ("m1 1ae", "M1 1AE"),
        ("gir0aa", "GIR 0AA"),
        ("bfpo1234", "BFPO 1234"),
        ("BFPO 7", "BFPO 7"),
        ("12345", None),
        ("SW1A", None),
        ("1AA SW1", None),
    ],
)
def test_postcodes_normalise_or_are_refused(given, shown):
    assert normalise_postcode(given) == shown


def test_an_invalid_postcode_makes_the_lead_invalid_only_when_present():
    assert validate_lead(VALID, ctx=ctx()).status == "valid"
    assert validate_lead(VALID | {"postcode": "SW1A 1AA"}, ctx=ctx()).errors == []
    result = validate_lead(VALID | {"postcode": "90210"}, ctx=ctx())
    assert result.errors == ["postcode_invalid"]
    assert message_for("postcode_invalid") == "Postcode is not a UK postcode."


@pytest.mark.parametrize(
    ("given", "utc"),
    [
        ("2026-07-02T10:30:00Z", "2026-07-02T10:30:00"),
        ("2026-07-02T10:30:00+02:00", "2026-07-02T08:30:00"),
        ("2026-07-02 10:30", "2026-07-02T10:30:00"),  # ISO without offset is UTC
        ("02/07/2026 10:30", "2026-07-02T09:30:00"),  # dd/mm/yyyy is London time (BST)
        ("02/01/2026 10:30:15", "2026-01-02T10:30:15"),
        ("02/07/2026", "2026-07-01T23:00:00"),
        (datetime.datetime(2026, 7, 2, 10, 30), "2026-07-02T09:30:00"),
        ("31/02/2026", None),
        ("07/15/2026", None),
        ("last week", None),
        ("20260702", None),
        # Systems' placeholders for "no date" are no consent.
        ("01/01/1900", None),
        ("1970-01-01T00:00:00Z", None),
        (datetime.date(1900, 1, 1), None),
        ("1990-01-01T00:00:00Z", "1990-01-01T00:00:00"),
        # Outside the years a moment can have once in UTC: unreadable, never an error.
        ("0001-01-01T00:30:00+01:00", None),
        ("9999-12-31T23:30:00-01:00", None),
        (
            datetime.datetime(
                9999, 12, 31, 23, 30, tzinfo=datetime.timezone(-datetime.timedelta(hours=1))
            ),
            None,
        ),
    ],
)
def test_consent_dates_are_read_to_utc(given, utc):
    moment = parse_consent_at(given, "Europe/London")

    assert (moment and moment.replace(tzinfo=None).isoformat()) == utc
    assert moment is None or moment.tzinfo is UTC


@pytest.mark.parametrize(
    ("consent", "required", "errors"),
    [
        ("2026-11-30T09:00:00Z", False, []),
        ("2026-11-30T09:00:00Z", True, []),
        ("", False, []),
        ("", True, ["consent_missing"]),
        ("soon", False, ["consent_invalid"]),
        ("soon", True, ["consent_invalid", "consent_missing"]),
        ("2026-12-01T12:00:01Z", False, ["consent_in_future"]),
    ],
)
def test_consent_rules(consent, required, errors):
    fields = VALID | {"consent_at": consent}

    result = validate_lead(fields, ctx=ctx(consent_required=required))

    assert result.errors == errors
    assert all(not message_for(code).startswith("Failed") for code in errors)
