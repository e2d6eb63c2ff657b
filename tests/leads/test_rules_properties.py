"""The lead rules take any cell value: a status and known codes, or a lead id of one shape."""

import datetime
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from leads.rules import (
    ERROR_MESSAGES,
    RuleContext,
    format_dob,
    lead_id_for,
    parse_dob,
    validate_lead,
)

FUZZ = settings(max_examples=200, deadline=None, database=None)
LEAD_ID = re.compile(r"[a-z0-9-]+\.[a-z0-9-]+\.[0-9]{8}")
FIELDS = ("first_name", "last_name", "dob", "email", "phone", "company")

# What a reader can hand over (str, dates) and what a custom caller might (numbers, None).
values = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            "  ",
            "José",
            "Zoë",
            "ß",
            "O'Brien",
            "İ",
            "ﬁ",
            "15/03/1990",
            "29/02/2000",
            "31/02/1990",
            "1990-03-15",
            "3/15/1990",
            "15-03-90",
            "0/0/0000",
            "a@b.c",
            "+44 7911 123456",
            "x" * 200,
        ]
    ),
    st.dates(),
    st.datetimes(),
    st.integers(),
    st.floats(),
    st.booleans(),
)
leads = st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), values)


@FUZZ
@given(fields=leads, malformed=st.booleans(), today=st.dates(min_value=datetime.date(1900, 1, 1)))
def test_any_cells_validate_to_a_status_with_known_codes(fields, malformed, today):
    result = validate_lead(fields, ctx=RuleContext(today=today), malformed=malformed)

    assert result.status in ("valid", "invalid")
    assert (result.status == "valid") == (not result.errors)
    assert set(result.errors) <= set(ERROR_MESSAGES)
    assert ("row_malformed" in result.errors) == malformed
    assert result.lead_id == "" or LEAD_ID.fullmatch(result.lead_id)


@FUZZ
@given(first=values, last=values, dob=values)
def test_lead_id_is_empty_or_first_last_ddmmyyyy(first, last, dob):
    lead_id = lead_id_for(first, last, dob)

    assert lead_id == "" or LEAD_ID.fullmatch(lead_id)
    assert lead_id == lead_id_for(first, last, dob)


@FUZZ
@given(value=values)
def test_parse_dob_gives_a_date_or_none(value):
    parsed = parse_dob(value)

    assert parsed is None or type(parsed) is datetime.date


@FUZZ
@given(day=st.dates())
def test_a_formatted_date_of_birth_parses_back_to_itself(day):
    assert parse_dob(format_dob(day)) == day
    assert parse_dob(day.isoformat()) == day
