"""Tests for leads.rules.validators: the built-in rules, custom ones, and validate_lead."""

import datetime
import subprocess
import sys
from pathlib import Path

import pytest

from leads import rules
from leads.rules import DEFAULT_VALIDATORS, RuleContext, clean_lead, load_validators, validate_lead
from tests.leads.rules_support import CTX, TODAY, errors_for, lead_fields

D = datetime.date
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("dob", "expected"),
    [
        (None, ["dob_missing"]),
        ("", ["dob_missing"]),
        ("   ", ["dob_missing"]),
        ("29/02/2001", ["dob_unparseable"]),
        ("03/15/1990", ["dob_unparseable"]),
        ("15/03/90", ["dob_unparseable"]),
        ("29/02/2000", []),
        (D(1990, 3, 15), []),
        (datetime.datetime(1990, 3, 15), []),
    ],
)
def test_dob_missing_or_unparseable_is_reported(dob, expected):
    assert errors_for(dob=dob) == expected


@pytest.mark.parametrize("dob", ["16/03/2026", "01/01/2100", D(2026, 3, 16)])
def test_future_dob_is_dob_in_future_without_age_codes(dob):
    assert errors_for(dob=dob) == ["dob_in_future"]


@pytest.mark.parametrize(
    ("dob", "today", "expected"),
    [
        ("15/03/2008", D(2026, 3, 15), []),  # 18 today
        ("16/03/2008", D(2026, 3, 15), ["under_min_age"]),  # 17, 18 tomorrow
        ("15/03/2026", D(2026, 3, 15), ["under_min_age"]),  # born today
        ("15/03/1906", D(2026, 3, 15), []),  # 120 today
        ("14/03/1905", D(2026, 3, 15), ["over_max_age"]),  # 121 since yesterday
        ("29/02/2008", D(2026, 2, 28), ["under_min_age"]),  # non-leap year: birthday is 1 March
        ("29/02/2008", D(2026, 3, 1), []),
    ],
)
def test_age_limits_are_inclusive_on_the_boundary_day(dob, today, expected):
    assert errors_for(ctx=RuleContext(today=today), dob=dob) == expected


@pytest.mark.parametrize(
    ("dob", "expected"),
    [("15/03/2005", []), ("16/03/2005", ["under_min_age"]), ("14/03/1955", ["over_max_age"])],
)
def test_age_limits_come_from_the_context(dob, expected):
    ctx = RuleContext(today=TODAY, min_age=21, max_age=70)
    assert errors_for(ctx=ctx, dob=dob) == expected


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, "Smith", ["first_name_missing"]),
        ("", "Smith", ["first_name_missing"]),
        ("  ", "Smith", ["first_name_missing"]),
        ("John", None, ["last_name_missing"]),
        (None, None, ["first_name_missing", "last_name_missing"]),
        ("'.,", "Smith", ["name_invalid"]),
        ("John", "---!", []),  # "-" survives normalisation
        ("John", "'!?", ["name_invalid"]),
        ("'", "'", ["name_invalid"]),
        ("a" * 101, "Smith", ["name_invalid"]),
        ("John", "b" * 101, ["name_invalid"]),
        ("a" * 100, "b" * 100, []),
        ("  " + "a" * 100 + "  ", "Smith", []),
        (None, "'", ["first_name_missing", "name_invalid"]),
        ("\ufdfd" * 10, "Smith", ["name_invalid"]),  # 180 letters in the lead id
    ],
)
def test_names_missing_or_invalid_are_reported(first, last, expected):
    assert errors_for(first_name=first, last_name=last) == expected


@pytest.mark.parametrize(
    ("first", "last"),
    [("O'Brien", "Núñez"), ("Zoë", "Strauß"), ("Mary-Jane", "Van der Berg"), ("  José ", " Li ")],
)
def test_real_world_names_are_valid(first, last):
    assert errors_for(first_name=first, last_name=last) == []


def test_hand_built_lead_email_is_checked_by_the_validator():
    lead = clean_lead(lead_fields(), ctx=CTX)
    lead.email, lead.email_valid = "peter@@example.com", None
    assert rules.validate_email(lead, CTX) == ["email_invalid"]


def test_hand_built_lead_phone_is_checked_by_the_validator():
    lead = clean_lead(lead_fields(), ctx=CTX)
    lead.phone, lead.phone_valid = "12345", None
    assert rules.validate_phone(lead, CTX) == ["phone_invalid"]


def test_valid_lead_result_carries_id_and_display_dob():
    fields = lead_fields(first_name=" José ", dob="5.3.1990", email="j@x.com", phone="07911123457")
    result = validate_lead(fields, ctx=CTX)
    assert (result.status, result.errors, result.lead_id, result.dob_display) == (
        "valid",
        [],
        "jose.smith.05031990",
        "05/03/1990",
    )


@pytest.mark.parametrize(
    ("overrides", "lead_id", "dob_display"),
    [
        ({"dob": "29/02/2001"}, "", ""),
        ({"dob": None}, "", ""),
        ({"first_name": "'"}, "", "15/03/1990"),
        ({"dob": "16/03/2026"}, "john.smith.16032026", "16/03/2026"),
    ],
)
def test_invalid_lead_result_has_id_only_when_formable(overrides, lead_id, dob_display):
    result = validate_lead(lead_fields(**overrides), ctx=CTX)
    assert (result.status, result.lead_id, result.dob_display) == ("invalid", lead_id, dob_display)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, ["row_malformed"]),
        ({"last_name": None}, ["row_malformed", "last_name_missing"]),
        ({"dob": "15/03/90", "phone": "1"}, ["row_malformed", "dob_unparseable", "phone_invalid"]),
    ],
)
def test_malformed_row_adds_row_malformed_and_still_runs_the_rules(overrides, expected):
    result = validate_lead(lead_fields(**overrides), ctx=CTX, malformed=True)
    assert (result.errors, result.lead.malformed) == (expected, True)


def test_errors_follow_the_built_in_order():
    fields = {"first_name": None, "last_name": "'", "dob": "01/01/1800", "email": "x", "phone": "1"}
    result = validate_lead(fields, ctx=CTX, malformed=True)
    assert result.errors == [
        "row_malformed",
        "first_name_missing",
        "over_max_age",
        "name_invalid",
        "email_invalid",
        "phone_invalid",
    ]


def test_errors_are_sorted_whatever_the_validator_order():
    validators = [rules.validate_phone, rules.validate_email, rules.validate_dob]
    result = validate_lead(
        lead_fields(dob="bad", email="x", phone="1"), ctx=CTX, validators=validators
    )
    assert result.errors == ["dob_unparseable", "email_invalid", "phone_invalid"]


def no_acme(lead, ctx):
    return ["company_blocked", "company_blocked"] if lead.company == "ACME" else []


def always_phone_invalid(lead, ctx):
    return ["phone_invalid"]


def test_custom_validator_code_is_reported_after_built_in_codes():
    validators = [no_acme, *rules.BUILTIN_VALIDATORS]
    result = validate_lead(lead_fields(company=" ACME ", email="x"), ctx=CTX, validators=validators)
    assert (result.status, result.errors) == ("invalid", ["email_invalid", "company_blocked"])


def test_custom_validator_repeating_a_code_does_not_duplicate_it():
    validators = [*rules.BUILTIN_VALIDATORS, always_phone_invalid]
    assert validate_lead(lead_fields(phone="1"), ctx=CTX, validators=validators).errors == [
        "phone_invalid"
    ]


def test_empty_validator_list_only_reports_malformed_rows():
    result = validate_lead({"first_name": None}, ctx=CTX, validators=[], malformed=True)
    assert result.errors == ["row_malformed"]


def test_default_validators_load_the_built_in_functions():
    pytest.importorskip("django")
    assert load_validators(DEFAULT_VALIDATORS) == rules.BUILTIN_VALIDATORS


def test_load_validators_caches_by_paths():
    pytest.importorskip("django")
    paths = ["tests.leads.test_validators.no_acme", "leads.rules.validate_dob"]
    loaded = load_validators(paths)
    assert loaded == (no_acme, rules.validate_dob)
    assert load_validators(tuple(paths)) is loaded


def test_custom_validator_loaded_by_path_is_applied():
    pytest.importorskip("django")
    validators = load_validators([*DEFAULT_VALIDATORS, "tests.leads.test_validators.no_acme"])
    result = validate_lead(lead_fields(company="ACME"), ctx=CTX, validators=validators)
    assert result.errors == ["company_blocked"]


def test_module_does_not_import_django():
    code = "import sys, leads.rules; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0
