"""Tests for leads.rules.cleaning: raw cells become the CleanLead validators read."""

import datetime

import pytest

from leads.rules import CleanLead, clean_lead, lead_id_for
from tests.leads.rules_support import CTX, lead_fields

D = datetime.date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Mary   Jane ", "Mary Jane"),
        ("Van\tder\u00a0Berg", "Van der Berg"),
        ("O'Brien", "O'Brien"),
        (None, ""),
    ],
)
def test_clean_lead_trims_and_collapses_names_and_company(raw, expected):
    lead = clean_lead({"first_name": raw, "last_name": raw, "company": raw}, ctx=CTX)
    assert (lead.first_name, lead.last_name, lead.company) == (expected, expected, expected)


def test_clean_lead_keeps_the_raw_dob_and_parses_it():
    lead = clean_lead({"dob": " 5.3.1990 "}, ctx=CTX)
    assert (lead.dob_raw, lead.dob) == (" 5.3.1990 ", D(1990, 3, 5))


def test_clean_lead_shows_names_title_cased_and_ids_are_unchanged():
    lead = clean_lead({"first_name": "MARY-JANE", "last_name": "o'brien"}, ctx=CTX)
    assert (lead.first_name, lead.last_name) == ("Mary-Jane", "O'Brien")
    assert lead_id_for("MARY-JANE", "o'brien", "01/02/1990") == lead_id_for(
        lead.first_name, lead.last_name, "01/02/1990"
    )


def test_clean_lead_is_a_plain_dataclass_value():
    lead = clean_lead(lead_fields(), ctx=CTX)
    assert lead == CleanLead("John", "Smith", "15/03/1990", D(1990, 3, 15), "", "", "")


def test_placeholder_cells_are_no_value_not_a_bad_one():
    from leads.rules import validate_lead

    result = validate_lead(
        lead_fields(
            first_name="N/A",
            email="none",
            phone="-",
            company="Unknown",
            postcode="TBC",
            consent_at="n/a",
        ),
        ctx=CTX,
    )
    lead = result.lead
    assert (lead.first_name, lead.email, lead.phone, lead.company, lead.postcode) == ("",) * 5
    assert result.errors == ["first_name_missing"]  # not name_invalid, email_invalid...
    assert validate_lead(lead_fields(dob="N/A"), ctx=CTX).errors == ["dob_missing"]


def test_clean_lead_drops_a_title_from_the_first_name():
    lead = clean_lead(lead_fields(first_name="MR JOHN"), ctx=CTX)
    assert lead.first_name == "John"
