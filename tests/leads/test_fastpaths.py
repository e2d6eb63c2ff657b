"""The shortcuts give exactly what email_validator and phonenumbers.parse() give."""

import email.utils
import random

import email_validator
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat as Format
from phonenumbers import PhoneNumberType as Type

from leads.rules import clean_lead, fastpaths, phones
from leads.rules.emails import _validated_email
from tests.leads.rules_support import CTX

check_phone = phones.check_phone.__wrapped__  # without its cache


# --- email ----------------------------------------------------------------------------------------


def reference_email(raw):
    if "<" in raw:
        raw = email.utils.parseaddr(raw)[1]  # "Name <addr>" is read as the address
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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("john.smith@example.com", "john.smith@example.com"),
        ("INFO@Example.COM", "info@example.com"),
        ("o'brien+tag@sub.example.org", "o'brien+tag@sub.example.org"),
    ],
)
def test_plain_addresses_take_the_shortcut(raw, expected):
    assert fastpaths.plain_email(raw) == expected == _validated_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "josé@example.com",
        '"quoted"@example.com',
        "a@münchen.de",
        "peter@@example.com",
        "a@b",  # plain but invalid: email_validator gives the verdict
        "a@example..com",
    ],
)
def test_other_addresses_are_left_to_email_validator(raw):
    assert fastpaths.plain_email(raw) is None


# --- phone ----------------------------------------------------------------------------------------


def written_forms(number: phonenumbers.PhoneNumber, region: str) -> list[str]:
    """The ways a lead's phone cell may hold `number`, dialled from `region`."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    code = str(number.country_code)
    national = phonenumbers.national_significant_number(number)
    written = (Format.NATIONAL, Format.INTERNATIONAL, Format.E164)
    forms = [phonenumbers.format_number(number, f) for f in written]
    forms += [
        f"+{code} 0{national}",  # "+44 (0)…" without the brackets
        f"{code} {national}",  # the country code without its "+"
        national,
        f"{metadata.national_prefix or ''}{national}",
        forms[0].replace(" ", "-"),
        f"+{code} (0){national}",
        f"({national[:4]}) {national[4:]}",
    ]
    idd = metadata.preferred_international_prefix or metadata.international_prefix or ""
    if idd.isdigit():
        forms.append(f"{idd} {code} {national}")
    return forms


def corpus() -> list[tuple[str, str]]:
    """Every region's example numbers of every type, written every way, plus one-digit typos."""
    rnd = random.Random(7)
    samples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in vars(Type).values():
            if not isinstance(kind, int) or kind in (Type.UNKNOWN, Type.FIXED_LINE_OR_MOBILE):
                continue
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            for form in written_forms(example, region):
                samples.append((form, region))
                typo = list(form)
                at = rnd.randrange(len(typo))
                if typo[at].isdigit():
                    typo[at] = str(rnd.randrange(10))
                    samples.append(("".join(typo), region))
    return samples


def test_every_region_and_written_form_checks_as_phonenumbers_parses_it():
    differ, valid, shortcut = [], 0, 0
    for text, region in corpus():
        for default in {region, "GB"}:
            got = check_phone(text, default)
            if got != phones._parsed_phone(text, default):
                differ.append((text, default, got))
            valid += got is not None
            plain = fastpaths._plain_national_number(text, default)
            shortcut += plain is not None and fastpaths._plain_phone_rules(default).is_valid(
                plain[1]
            )
    assert differ == []
    # The comparison covered the shortcut, which took half the valid numbers.
    assert shortcut > valid / 2 > 1000


@pytest.mark.parametrize(
    "text",
    [
        "07400 100000",
        "+44 7400 100000",
        "+447400100000",
        "+44 07400 100000",  # national prefix after the country code
        "0044 7400 100000",  # international prefix
        "44 7400 100000",
        "07400" + " " * 250 + "100000",  # longer than phonenumbers reads
        "01632 960000",  # well formed, not a valid number
        "0 7 4 0 0 1 0 0 0 0 0",
        "07400-100000",
        "+44-7400-100000",
        "-07400 100000-",
        "+44 (0)7400 100000",
        "(07400) 100000",
        "+44 (7400) 100000",
        "()07400 100000",
        "7400 100000",
    ],
)
@pytest.mark.parametrize("region", ["GB", "JE", "US", "gb", "XX"])
def test_edge_cases_check_as_phonenumbers_parses_them(text, region):
    assert check_phone(text, region) == phones._parsed_phone(text, region)


def test_common_uk_numbers_take_the_shortcut():
    assert fastpaths._plain_national_number("07400 100000", "GB") == ("44", "7400100000")
    assert fastpaths._plain_national_number("+44 7400 100000", "GB") == ("44", "7400100000")
    assert fastpaths._plain_national_number("07400-100000", "GB") == ("44", "7400100000")
    assert fastpaths._plain_national_number("+44 (0)7400 100000", "GB") == ("44", "7400100000")
    assert fastpaths._plain_national_number("(07400) 100000", "GB") == ("44", "7400100000")
    assert fastpaths._plain_national_number("0044 7400 100000", "GB") is None


@settings(max_examples=300, deadline=None, database=None)
@given(
    text=st.from_regex(r"\A\+?[0-9 ()-]{1,20}\Z"),
    region=st.sampled_from(["GB", "JE", "US", "AU", "IE", "DE", "IT", "RU", "IN"]),
)
def test_any_digits_and_separators_check_as_phonenumbers_parses_them(text, region):
    assert check_phone(text, region) == phones._parsed_phone(text, region)
