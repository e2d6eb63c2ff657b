"""The phone check's shortcut for plain numbers gives exactly what phonenumbers.parse() gives."""

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat as Format
from phonenumbers import PhoneNumberType as Type

from leads.rules import phones

check_phone = phones.check_phone.__wrapped__  # without its cache


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
            plain = phones._plain_national_number(text, default)
            shortcut += plain is not None and phones._plain_phone_rules(default).is_valid(plain[1])
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
    assert phones._plain_national_number("07400 100000", "GB") == ("44", "7400100000")
    assert phones._plain_national_number("+44 7400 100000", "GB") == ("44", "7400100000")
    assert phones._plain_national_number("07400-100000", "GB") == ("44", "7400100000")
    assert phones._plain_national_number("+44 (0)7400 100000", "GB") == ("44", "7400100000")
    assert phones._plain_national_number("(07400) 100000", "GB") == ("44", "7400100000")
    assert phones._plain_national_number("0044 7400 100000", "GB") is None


@settings(max_examples=300, deadline=None, database=None)
@given(
    text=st.from_regex(r"\A\+?[0-9 ()-]{1,20}\Z"),
    region=st.sampled_from(["GB", "JE", "US", "AU", "IE", "DE", "IT", "RU", "IN"]),
)
def test_any_digits_and_separators_check_as_phonenumbers_parses_them(text, region):
    assert check_phone(text, region) == phones._parsed_phone(text, region)
