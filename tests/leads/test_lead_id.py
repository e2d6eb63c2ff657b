"""Tests for leads.rules.lead_id: first.last.ddmmyyyy, or nothing."""

import datetime

import pytest

from leads.rules import lead_id_for

D = datetime.date


@pytest.mark.parametrize(
    ("first", "last", "dob", "expected"),
    [
        ("John", "Smith", "15/03/1990", "john.smith.15031990"),
        ("José", "Núñez", "15/03/1990", "jose.nunez.15031990"),
        ("  Zoë ", " O'Brien  ", "5/3/1990", "zoe.obrien.05031990"),
        ("Mary-Jane", "Van der Berg", "1990-03-15", "mary-jane.vanderberg.15031990"),
        ("Hans", "Strauß", D(1990, 3, 15), "hans.strauss.15031990"),
        ("Hans", "Strauß", datetime.datetime(1990, 3, 15, 13, 45), "hans.strauss.15031990"),
    ],
)
def test_lead_id_for_is_first_last_ddmmyyyy(first, last, dob, expected):
    assert lead_id_for(first, last, dob) == expected


@pytest.mark.parametrize(
    ("first", "last", "dob"),
    [
        ("", "Smith", "15/03/1990"),
        (None, "Smith", "15/03/1990"),
        ("John", "   ", "15/03/1990"),
        ("John", "'.,!", "15/03/1990"),
        ("John", "Smith", None),
        ("John", "Smith", ""),
        ("John", "Smith", "29/02/2001"),
        ("John", "Smith", "15/03/90"),
        # Ten characters as given, 180 letters once transliterated: over the 100 of a name.
        ("\ufdfd" * 10, "Smith", "15/03/1990"),
    ],
)
def test_lead_id_for_is_empty_when_not_formable(first, last, dob):
    assert lead_id_for(first, last, dob) == ""
