"""Reading register lines and suppression values into the forms leads are compared in."""

import pytest

from screening.values import detect_value, lead_keys, normal_value, tps_number, uk_number


@pytest.mark.parametrize(
    ("line", "number"),
    [
        ("01632960001", 441632960001),
        ("01632 960001", 441632960001),
        ("+44 1632 960001", 441632960001),
        ("+44 (0)1632 960001", 441632960001),
        ("0044 7911 123456", 447911123456),
        ("07911-123-456", 447911123456),
        ("020 7946 0000", 442079460000),
        ("0169 77 4123", 44169774123),  # a nine-digit national number
    ],
)
def test_register_lines_become_e164_digits(line, number):
    assert tps_number(line) == number


@pytest.mark.parametrize(
    "line",
    ["", "hello", "7911123456", "+1 202 555 0100", "0791112345678", "012345", "00 1632 960001"],
)
def test_lines_that_are_not_uk_numbers_are_refused(line):
    assert tps_number(line) is None


def test_only_uk_lead_phones_are_register_numbers():
    assert uk_number("+447911123456") == 447911123456
    assert uk_number("+12025550100") is None
    assert uk_number("") is None


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (" Jane.Doe@Example.COM ", ("email", "jane.doe@example.com")),
        ("07911 123456", ("phone", "+447911123456")),
        ("+44 20 7946 0000", ("phone", "+442079460000")),
        ("sw1a1aa", ("postcode", "SW1A 1AA")),
        ("John.Smith.15031990", ("lead_id", "john.smith.15031990")),
        ("not a thing", None),
        ("jane@", None),
    ],
)
def test_a_value_kind_is_recognised_and_normalised(value, found):
    assert detect_value(value, region="GB") == found


def test_a_named_kind_is_normalised_or_refused():
    assert normal_value("postcode", "ec1a 1bb", region="GB") == "EC1A 1BB"
    assert normal_value("postcode", "07911 123456", region="GB") is None
    assert normal_value("lead_id", "jane", region="GB") is None


def test_a_lead_carries_a_key_per_value_it_has():
    assert lead_keys(
        email="jane@example.com", phone="+447911123456", lead_id="jane.doe.01011990", postcode=""
    ) == ["email:jane@example.com", "phone:+447911123456", "lead_id:jane.doe.01011990"]
    assert lead_keys(email="oops", phone="0791", lead_id="", postcode="SW1A 1AA") == [
        "postcode:SW1A 1AA"
    ]
