"""Tests for leads.rules.dates: parsing, showing and counting dates of birth."""

import datetime

import pytest

from leads.rules import age_on, dob_text, format_dob, parse_dob

D = datetime.date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15/03/1990", D(1990, 3, 15)),
        ("29/02/2000", D(2000, 2, 29)),
        ("5/3/1990", D(1990, 3, 5)),
        ("15-03-1990", D(1990, 3, 15)),
        ("15.03.1990", D(1990, 3, 15)),
        ("5.3.1990", D(1990, 3, 5)),
        ("1990-03-15", D(1990, 3, 15)),
        ("  15/03/1990 \t", D(1990, 3, 15)),
        (D(1990, 3, 15), D(1990, 3, 15)),
        (datetime.datetime(1990, 3, 15, 23, 59), D(1990, 3, 15)),
        # A date-time column saved as CSV: midnight says nothing more than the date.
        ("15/03/1990 00:00", D(1990, 3, 15)),
        ("5/3/1990 00:00:00", D(1990, 3, 5)),
        ("1990-03-15T00:00:00", D(1990, 3, 15)),
        ("1990-03-15 00:00:00.000", D(1990, 3, 15)),
        ("1990-03-15T00:00:00Z", D(1990, 3, 15)),
        ("1990-03-15T00:00:00+00:00", D(1990, 3, 15)),
        ("15/03/1990 12:00:00 AM", D(1990, 3, 15)),
        ("15/03/1990 12:00 am", D(1990, 3, 15)),
        # Full-width digits, and characters that show as nothing, pasted in with the date.
        ("１５／０３／１９９０", D(1990, 3, 15)),
        ("\u200b15/03/1990\u200e", D(1990, 3, 15)),
        ("15/03/1990\u00a0", D(1990, 3, 15)),
    ],
)
def test_parse_dob_accepts_supported_formats(raw, expected):
    parsed = parse_dob(raw)
    assert parsed == expected
    assert type(parsed) is datetime.date


@pytest.mark.parametrize(
    "raw",
    [
        "29/02/2001",
        "31/02/1990",
        "03/15/1990",
        "15/03/90",
        "15/13/1990",
        "00/03/1990",
        "15/03-1990",
        "1990/03/15",
        "1990-3-15",
        "15/03/1990 10:00",
        "14/03/1990 23:00",  # a midnight moved by a time zone is not rounded either way
        "15/03/1990 00:01",
        "1990-03-15T00:00:00+01:00",
        "15/03/1990 12:00:00 PM",
        "15/03/1990 00:00 AM",
        "15/03/1990 00",
        "15 March 1990",
        "١٥/٠٣/١٩٩٠",
        "not a date",
        19900315,
        33000.0,
    ],
)
def test_parse_dob_rejects_anything_else(raw):
    assert parse_dob(raw) is None


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_parse_dob_is_none_when_blank(raw):
    assert parse_dob(raw) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(D(1990, 3, 15), "15/03/1990"), (D(2000, 1, 5), "05/01/2000"), (D(5, 1, 1), "01/01/0005")],
)
def test_format_dob_is_dd_mm_yyyy(value, expected):
    assert format_dob(value) == expected


@pytest.mark.parametrize(
    ("dob", "today", "expected"),
    [
        (D(2008, 3, 15), D(2026, 3, 15), 18),
        (D(2008, 3, 16), D(2026, 3, 15), 17),
        (D(2008, 2, 29), D(2026, 2, 28), 17),
        (D(2008, 2, 29), D(2026, 3, 1), 18),
        (D(2008, 2, 29), D(2028, 2, 29), 20),
        (D(2026, 3, 15), D(2026, 3, 15), 0),
    ],
)
def test_age_on_counts_completed_years_with_29_february_on_1_march(dob, today, expected):
    assert age_on(dob, today) == expected


@pytest.mark.parametrize(
    ("dob", "raw", "expected"),
    [
        (D(1990, 3, 5), "5.3.1990", "05/03/1990"),
        (D(1990, 3, 15), "", "15/03/1990"),
        (None, "31/02/1990", "31/02/1990"),
        (None, "", ""),
    ],
)
def test_dob_text_is_dd_mm_yyyy_when_parsed_else_the_raw_text(dob, raw, expected):
    assert dob_text(dob, raw) == expected
