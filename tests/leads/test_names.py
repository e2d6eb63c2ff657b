"""Tests for leads.rules.names: a name's lead-id form and the form it is shown in."""

import pytest

from leads import rules
from leads.rules import normalise_name_part, without_title


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Brien", "obrien"),
        ("José", "jose"),
        ("Núñez", "nunez"),
        ("Zoë", "zoe"),
        ("Strauß", "strauss"),
        ("Van der Berg", "vanderberg"),
        ("Mary-Jane", "mary-jane"),
        ("  José  ", "jose"),
        ("SMITH", "smith"),
        ("Smith2", "smith2"),
        ("Ærøskøbing", "aeroskobing"),
        ("中", "zhong"),
        # Symbols are no part of a name, whatever anyascii would spell them as.
        ("Emma 😀", "emma"),
        ("❤", ""),
        ("Zoë\u2122", "zoe"),
        ("'.,!", ""),
        ("   ", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_name_part_folds_transliterates_and_strips(raw, expected):
    assert normalise_name_part(raw) == expected


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("JOHN", "John"),
        ("john", "John"),
        ("  mary-jane  ", "Mary-Jane"),
        ("O'BRIEN", "O'Brien"),
        ("d\u2019arcy", "D\u2019Arcy"),
        ("MCDONALD", "McDonald"),
        ("mccarthy-jones", "McCarthy-Jones"),
        ("VAN DER BERG", "van der Berg"),
        ("de la cruz", "de la Cruz"),
        ("LA ROSA", "La Rosa"),
        ("Ó BRIAIN", "Ó Briain"),
        ("JOSÉ  MARÍA", "José María"),
        ("strauß", "Strauß"),
        ("VAN", "Van"),
    ],
)
def test_names_all_in_one_case_are_title_cased_respecting_particles(raw, shown):
    assert rules.display_name(raw) == shown


@pytest.mark.parametrize(
    "name", ["DeShawn", "McDONALD", "van der Berg", "Van der Berg", "MacLeod", "Li", "J", "123"]
)
def test_names_in_mixed_case_keep_the_persons_capitals(name):
    assert rules.display_name(name) == name


def test_display_name_collapses_whitespace():
    assert rules.display_name(" Anne \t Marie\u00a0Smith ") == "Anne Marie Smith"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mr John", "John"),
        ("Dr. Mary Jane", "Mary Jane"),
        ("MRS Ann", "Ann"),
        ("Mr", "Mr"),  # a title alone is all the cell has
        ("Major Tom", "Major Tom"),  # a first name as well as a rank
        ("Mrinal", "Mrinal"),
        ("Ann Marie", "Ann Marie"),
    ],
)
def test_a_first_name_cell_loses_its_form_of_address(name, expected):
    assert without_title(name) == expected
