"""Shortcuts that give a validation library's answer for the plain inputs most leads carry.

Each returns the library's own result for a valid input it is sure of, and None for anything
else, which then goes to the library: the library alone decides what is invalid. Each stays
only while it saves at least a tenth of a batch's time; tests/leads/test_fastpaths.py checks
them against the libraries and is the test to run when a library is upgraded.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import email_validator
import phonenumbers
from email_validator import EmailNotValidError
from email_validator import validate_email as _ev_validate_email

# --- email -------------------------------------------------------------------------------------

# email_validator takes some 30 µs an address, half the rules' time on a lead; most addresses
# are plain ASCII (dot-atom local part, ASCII hostname), whose local part is already in
# normal form, so email_validator's verdict depends only on the domain and the total length.
_ATEXT = r"A-Za-z0-9_!#$%&'*+/=?^`{|}~-"
_SIMPLE_EMAIL_RE = re.compile(rf"([{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@([A-Za-z0-9.-]+)")
_EMAIL_MAX_LENGTH = 254  # email_validator's limit, in UTF-8 bytes, on each form of the address
# Longer local parts take the full path, where email_validator.STRICT decides.
_LOCAL_PART_MAX_LENGTH = 64


@functools.lru_cache(maxsize=8192)
def _domain_check(
    domain: str, test_environment: bool, globally_deliverable: bool
) -> tuple[str, int] | None:
    """email_validator's verdict on a domain: (normalised domain, longest form in bytes) or None."""
    try:
        info = _ev_validate_email(
            "a@" + domain,
            check_deliverability=False,
            test_environment=test_environment,
            globally_deliverable=globally_deliverable,
        )
    except EmailNotValidError:
        return None
    longest = max(len(domain), len(info.domain.encode()), len(info.ascii_domain.encode()))
    return info.domain, longest


def plain_email(text: str) -> str | None:
    """The lower-cased normal form of a valid plain ASCII address; None: ask email_validator."""
    match = _SIMPLE_EMAIL_RE.fullmatch(text)
    if match is None or match.end(1) > _LOCAL_PART_MAX_LENGTH:
        return None
    local, domain = match.groups()
    checked = _domain_check(
        domain, email_validator.TEST_ENVIRONMENT, email_validator.GLOBALLY_DELIVERABLE
    )
    if checked is None or len(local) + 1 + checked[1] > _EMAIL_MAX_LENGTH:
        return None
    return f"{local}@{checked[0]}".lower()


# --- phone -------------------------------------------------------------------------------------

# Most numbers arrive as "07400 100000", "(07400) 100000" or "+44 (0)7400 100000": digits,
# spaces, hyphens and brackets, perhaps a leading "+". phonenumbers.parse() costs two thirds
# of the check on those (it walks every character through Unicode look-ups), and for them
# its result is known without it.
_PLAIN_PHONE_RE = re.compile(r"(\+?)([0-9 ()-]+)")
_SEPARATORS = str.maketrans("", "", " ()-")
_MAX_PHONE_INPUT = 250  # phonenumbers refuses longer input before looking at it


@dataclass(frozen=True)
class _PlainPhoneRules:
    """What the shortcut needs of a region's phonenumbers metadata, compiled once."""

    code: str
    is_main: bool  # the main region of its country code (GB for 44, not JE)
    international_prefix: re.Pattern | None
    # The national prefix, for numbers written nationally and (by the main region's
    # metadata, as parse() reads them) for numbers written with "+".
    national_prefix: re.Pattern | None
    main_national_prefix: re.Pattern | None
    local_only: frozenset[int]  # lengths parse() will not strip a national prefix down to
    general: tuple[re.Pattern, frozenset[int]]
    types: tuple[tuple[re.Pattern, frozenset[int]], ...]

    def is_valid(self, national: str) -> bool:
        """phonenumbers' is_valid_number_for_region() for a number of this region's code.

        The library's rule (the general pattern, then a number type's) with the types tried
        mobile first, where its own order walks eight rarer types before it: a fifth of the
        cost for the numbers leads carry. A pattern counts only at a length it allows.
        """
        length = len(national)
        pattern, lengths = self.general
        if (lengths and length not in lengths) or not pattern.fullmatch(national):
            return False
        return any(
            (not allowed or length in allowed) and type_pattern.fullmatch(national)
            for type_pattern, allowed in self.types
        )


@functools.lru_cache(maxsize=64)
def _plain_phone_rules(region: str) -> _PlainPhoneRules | None:
    if region not in phonenumbers.SUPPORTED_REGIONS:  # as parse() sees it: "gb" is not GB
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata.national_prefix_transform_rule:
        return None
    descs = [metadata.mobile, metadata.fixed_line]
    if metadata.same_mobile_and_fixed_line_pattern:
        descs = [metadata.fixed_line]  # the library then never tries mobile on its own
    descs += [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    ]
    code = metadata.country_code
    main_region = phonenumbers.region_code_for_country_code(code)
    main = phonenumbers.PhoneMetadata.metadata_for_region(main_region)
    return _PlainPhoneRules(
        code=str(code),
        is_main=main_region == region,
        international_prefix=_compiled(metadata.international_prefix),
        national_prefix=_compiled(metadata.national_prefix_for_parsing),
        main_national_prefix=_compiled(main.national_prefix_for_parsing),
        local_only=frozenset(metadata.general_desc.possible_length_local_only or ()),
        general=_compiled_desc(metadata.general_desc),
        types=tuple(
            _compiled_desc(desc) for desc in descs if desc and desc.national_number_pattern
        ),
    )


def _compiled(pattern: str | None) -> re.Pattern | None:
    return re.compile(pattern) if pattern else None


def _compiled_desc(desc) -> tuple[re.Pattern, frozenset[int]]:
    # A pattern-less general description matches nothing (as in the library).
    return re.compile(desc.national_number_pattern or "(?!)"), frozenset(desc.possible_length)


def _plain_national_number(text: str, region: str) -> tuple[str, str] | None:
    """(country code, national number) that parse() would give `text`, when that is sure.

    Only for digits and separators, written either as "+" and the region's own country code
    or as a national number, which may start with the region's national prefix. Never for
    a number that could hold an international prefix, a carrier code or a leading zero.
    The caller accepts the result only when the number is valid for the region by
    phonenumbers' rules, and parse() strips a national prefix exactly when what remains is
    a valid (so possible, and not local-only) number: then this is the number parse() gives.
    Anything else returns None and goes through parse().
    """
    match = _PLAIN_PHONE_RE.fullmatch(text)
    rules = _plain_phone_rules(region)
    if match is None or rules is None or len(text) > _MAX_PHONE_INPUT:
        return None
    code = rules.code
    plus, digits = match.groups()
    digits = digits.translate(_SEPARATORS)
    if plus:
        # Calling codes are prefix-free: parse() reads the same one, and then the rest
        # with its main region's metadata (this region's only when it is the main one).
        if not digits.startswith(code):
            return None
        digits, national_prefix = digits[len(code) :], rules.main_national_prefix
    else:
        idd = rules.international_prefix
        if digits.startswith(code) or (idd is not None and idd.match(digits)):
            return None
        national_prefix = rules.national_prefix
    prefix = national_prefix.match(digits) if national_prefix is not None else None
    if prefix is not None:
        if prefix.lastindex or (plus and not rules.is_main):
            return None
        digits = digits[prefix.end() :]
        if len(digits) in rules.local_only:
            return None
    if not digits or digits[0] == "0":
        return None
    return code, digits


def plain_phone(text: str, region: str) -> str | None:
    """The E.164 form of a valid plain number (see above); None: ask phonenumbers."""
    plain = _plain_national_number(text, region)
    if plain is None:
        return None
    code, national = plain
    if not _plain_phone_rules(region).is_valid(national):
        return None
    return f"+{code}{national}"
