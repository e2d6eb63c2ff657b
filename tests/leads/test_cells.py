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
