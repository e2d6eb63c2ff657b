"""Tests for leads.rules: pure Python, run with ``-p no:django``."""

import datetime
import subprocess
import sys
from pathlib import Path

import email_validator
import pytest

from leads import rules
from leads.rules import (
    DEFAULT_VALIDATORS,
    ERROR_MESSAGES,
    CleanLead,
    RuleContext,
    age_on,
    clean_lead,
    format_dob,
    is_blank,
    lead_id_for,
    load_validators,
    message_for,
    normalise_name_part,
    parse_dob,
    validate_lead,
)

D = datetime.date
TODAY = D(2026, 3, 15)
CTX = RuleContext(today=TODAY)
REPO_ROOT = Path(__file__).resolve().parents[2]

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
]


def lead_fields(**overrides):
    fields = {"first_name": "John", "last_name": "Smith", "dob": "15/03/1990"}
    fields.update(overrides)
    return fields


def errors_for(ctx=CTX, **overrides):
    return validate_lead(lead_fields(**overrides), ctx=ctx).errors


# --- names and lead ids ------------------------------------------------------------------------


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
        ("'.,!", ""),
        ("   ", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_name_part_folds_transliterates_and_strips(raw, expected):
    assert normalise_name_part(raw) == expected


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
    ],
)
def test_lead_id_for_is_empty_when_not_formable(first, last, dob):
    assert lead_id_for(first, last, dob) == ""


# --- dates of birth ----------------------------------------------------------------------------


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


# --- validate_lead: dob and age ----------------------------------------------------------------


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


# --- validate_lead: names ----------------------------------------------------------------------


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


# --- validate_lead: email ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" MJ@Example.co.uk ", "mj@example.co.uk"),
        ("john.smith@example.com", "john.smith@example.com"),
        ("O'Brien+Leads@Example.ORG", "o'brien+leads@example.org"),
        ("josé@example.com", "josé@example.com"),
    ],
)
def test_valid_email_is_normalised_lower_case(raw, expected):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == ([], expected)


@pytest.mark.parametrize(
    "raw",
    ["peter@@example.com", " no-at-sign ", "a@b", "john..smith@example.com", "x@example.com."],
)
def test_invalid_email_is_email_invalid_and_kept_trimmed(raw):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == (["email_invalid"], raw.strip())


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_email_is_not_checked(raw):
    result = validate_lead(lead_fields(email=raw), ctx=CTX)
    assert (result.errors, result.lead.email) == ([], "")


def reference_email(raw):
    try:
        validated = email_validator.validate_email(raw.strip(), check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    return validated.normalized.lower()


@pytest.mark.parametrize(
    "raw",
    [
        "john.smith@example.com",
        "INFO@Example.COM",
        "o'brien+tag@sub.example.org",
        "a@localhost",
        "a@example.test",
        "a@example.123",
        "a@ab--cd.com",
        "a@-example.com",
        "a@example-.com",
        "a@exa_mple.com",
        "a@.example.com",
        "a@example..com",
        ".john@example.com",
        "john.@example.com",
        "a@xn--bcher-kva.example",
        "A@XN--BCHER-KVA.EXAMPLE",
        "a@xn--zz.example",
        "a@münchen.de",
        "josé@example.com",
        '"quoted"@example.com',
        "Name <a@example.com>",
        "a@[127.0.0.1]",
        "a" * 64 + "@example.com",
        "a" * 65 + "@example.com",
        "a" * 242 + "@example.com",
        "a" * 243 + "@example.com",
        "a@" + "b" * 63 + ".com",
        "a@" + "b" * 64 + ".com",
        "a" * 232 + "@xn--bcher-kva.example",
        "a" * 233 + "@xn--bcher-kva.example",
        "a" * 232 + "@bücher.example",
        "a" * 63 + "@" + ".".join(["b" * 62, "b" * 63, "b" * 63]),
        "a" * 64 + "@" + ".".join(["b" * 62, "b" * 63, "b" * 63]),
        "a" * 64 + "@xn--bcher-kva." + ".".join(["b" * 63, "b" * 63, "b" * 47]),
        "a" * 64 + "@xn--bcher-kva." + ".".join(["b" * 63, "b" * 63, "b" * 48]),
        "a" * 233 + "@bücher.example",
    ],
)
def test_email_check_agrees_with_email_validator(raw):
    lead = clean_lead({"email": raw}, ctx=CTX)
    expected = reference_email(raw)
    assert lead.email_valid is (expected is not None)
    assert lead.email == (expected if expected is not None else raw.strip())


def test_hand_built_lead_email_is_checked_by_the_validator():
    lead = clean_lead(lead_fields(), ctx=CTX)
    lead.email, lead.email_valid = "peter@@example.com", None
    assert rules.validate_email(lead, CTX) == ["email_invalid"]


# --- validate_lead: phone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("07911 123457", "+447911123457"),
        ("+44 7911 123457", "+447911123457"),
        (" (07911) 123-457 ", "+447911123457"),
        ("0044 7911 123457", "+447911123457"),
        ("020 7946 0958", "+442079460958"),
        ("+1 650 253 0000", "+16502530000"),
        (7911123457, "+447911123457"),
        (7911123457.0, "+447911123457"),
    ],
)
def test_valid_phone_is_normalised_to_e164(raw, expected):
    result = validate_lead(lead_fields(phone=raw), ctx=CTX)
    assert (result.errors, result.lead.phone) == ([], expected)


@pytest.mark.parametrize("raw", ["12345", " 07911 12345 ", "not a phone", "+44 0000 000000"])
def test_invalid_phone_is_phone_invalid_and_kept_trimmed(raw):
    result = validate_lead(lead_fields(phone=raw), ctx=CTX)
    assert (result.errors, result.lead.phone) == (["phone_invalid"], raw.strip())


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_phone_is_not_checked(raw):
    result = validate_lead(lead_fields(phone=raw), ctx=CTX)
    assert (result.errors, result.lead.phone) == ([], "")


def test_phone_default_region_comes_from_the_context():
    ctx = RuleContext(today=TODAY, phone_region="US")
    result = validate_lead(lead_fields(phone="(650) 253-0000"), ctx=ctx)
    assert (result.errors, result.lead.phone) == ([], "+16502530000")


def test_hand_built_lead_phone_is_checked_by_the_validator():
    lead = clean_lead(lead_fields(), ctx=CTX)
    lead.phone, lead.phone_valid = "12345", None
    assert rules.validate_phone(lead, CTX) == ["phone_invalid"]


# --- validate_lead: result, malformed rows, order ----------------------------------------------


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


# --- custom validators and messages ------------------------------------------------------------


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


def test_message_for_unknown_code_names_the_code():
    assert "company_blocked" in message_for("company_blocked")


@pytest.mark.parametrize("code", BUILTIN_CODES)
def test_message_for_built_in_code_is_its_table_message(code):
    assert message_for(code) == ERROR_MESSAGES[code]
    assert ERROR_MESSAGES[code]


def test_error_messages_list_every_built_in_code_in_order():
    assert list(ERROR_MESSAGES) == BUILTIN_CODES


# --- loading validators ------------------------------------------------------------------------


def test_default_validators_load_the_built_in_functions():
    pytest.importorskip("django")
    assert load_validators(DEFAULT_VALIDATORS) == rules.BUILTIN_VALIDATORS


def test_load_validators_caches_by_paths():
    pytest.importorskip("django")
    paths = ["tests.leads.test_rules.no_acme", "leads.rules.validate_dob"]
    loaded = load_validators(paths)
    assert loaded == (no_acme, rules.validate_dob)
    assert load_validators(tuple(paths)) is loaded


def test_custom_validator_loaded_by_path_is_applied():
    pytest.importorskip("django")
    validators = load_validators([*DEFAULT_VALIDATORS, "tests.leads.test_rules.no_acme"])
    result = validate_lead(lead_fields(company="ACME"), ctx=CTX, validators=validators)
    assert result.errors == ["company_blocked"]


def test_module_does_not_import_django():
    code = "import sys, leads.rules; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0


def test_clean_lead_is_a_plain_dataclass_value():
    lead = clean_lead(lead_fields(), ctx=CTX)
    assert lead == CleanLead("John", "Smith", "15/03/1990", D(1990, 3, 15), "", "", "")


# --- display names, websites, email and phone normal forms -------------------------------------


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


def test_clean_lead_shows_names_title_cased_and_ids_are_unchanged():
    lead = clean_lead({"first_name": "MARY-JANE", "last_name": "o'brien"}, ctx=CTX)
    assert (lead.first_name, lead.last_name) == ("Mary-Jane", "O'Brien")
    assert lead_id_for("MARY-JANE", "o'brien", "01/02/1990") == lead_id_for(
        lead.first_name, lead.last_name, "01/02/1990"
    )


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.Example.com/about/", "example.com"),
        ("http://example.co.uk", "example.co.uk"),
        ("www.acme.io/", "acme.io"),
        ("ACME.IO", "acme.io"),
        ("example.com:8080/path?q=1#top", "example.com"),
        ("//cdn.example.org/x", "cdn.example.org"),
        ("https://user@www.shop.example.com/", "shop.example.com"),
        ("sales@acme.io", "acme.io"),
        (" example.com. ", "example.com"),
    ],
)
def test_websites_become_bare_domains(raw, domain):
    assert rules.clean_website(raw) == domain


@pytest.mark.parametrize("raw", ["n/a", "none", "-", "localhost:3000", "not a site.com"])
def test_values_that_are_not_web_addresses_are_only_trimmed(raw):
    assert rules.clean_website(f" {raw} ") == raw


def test_normalise_email_lower_cases_valid_addresses_only():
    assert rules.normalise_email(" John.Smith@Example.COM ") == "john.smith@example.com"
    assert rules.normalise_email("n/a") is None
    assert rules.normalise_email("") is None


def test_normalise_phone_gives_e164_or_none():
    assert rules.normalise_phone("07911 123456", "GB") == "+447911123456"
    assert rules.normalise_phone("12", "GB") is None
    assert rules.normalise_phone(" ", "GB") is None
