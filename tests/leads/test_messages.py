"""Tests for leads.rules.messages: every error code and its human message."""

import pytest

from leads.rules import ERROR_MESSAGES, message_for

BUILTIN_CODES = [
    "row_malformed",
    "first_name_missing",
    "last_name_missing",
    "dob_missing",
    "dob_unparseable",
    "dob_in_future",
    "under_min_age",
    "over_max_age",
    "name_invalid",
    "email_invalid",
    "phone_invalid",
    "postcode_invalid",
    "consent_invalid",
    "consent_in_future",
    "consent_missing",
]


def test_message_for_unknown_code_names_the_code():
    assert "company_blocked" in message_for("company_blocked")


@pytest.mark.parametrize("code", BUILTIN_CODES)
def test_message_for_built_in_code_is_its_table_message(code):
    assert message_for(code) == ERROR_MESSAGES[code]
    assert ERROR_MESSAGES[code]


def test_error_messages_list_every_built_in_code_in_order():
    assert list(ERROR_MESSAGES) == BUILTIN_CODES
