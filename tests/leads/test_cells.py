"""Tests for leads.rules.cells: what counts as a blank cell."""

import datetime

import pytest

from leads.rules import is_blank

D = datetime.date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("", True),
        ("  \t", True),
        ("x", False),
        (" x ", False),
        (0, False),
        (D(1990, 3, 15), False),
    ],
)
def test_is_blank_means_none_empty_or_whitespace(value, expected):
    assert is_blank(value) is expected


@pytest.mark.parametrize(
    "value", ["N/A", "n/a", "#N/A", "NULL", "None", "unknown", "Not Known", "-", "--", " ? "]
)
def test_placeholders_are_blank(value):
    assert is_blank(value)


@pytest.mark.parametrize("value", ["Na", "Nil", "Null Island Ltd", "x", "0", "n/a n/a", "Nonesuch"])
def test_real_values_that_look_like_placeholders_are_not_blank(value):
    assert not is_blank(value)
