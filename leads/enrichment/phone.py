"""The phone step: the number's type (mobile, fixed_line, voip ...), from phonenumbers offline."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType

from leads.enrichment.base import OK, EnrichContext, EnrichLead, skipped

_UNKNOWN = "unknown"
# The rarer types phonenumbers tries before fixed line and mobile, in its order.
_RARE_TYPES = (
    ("premium_rate", "premium_rate"),
    ("toll_free", "toll_free"),
    ("shared_cost", "shared_cost"),
    ("voip", "voip"),
    ("personal_number", "personal_number"),
    ("pager", "pager"),
    ("uan", "uan"),
    ("voicemail", "voicemail"),
)

_CALLING_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_Desc = tuple[re.Pattern, frozenset[int]] | None


def _desc(desc) -> _Desc:
    if desc is None or not desc.national_number_pattern:
        return None
    return re.compile(desc.national_number_pattern), frozenset(desc.possible_length)


def _matches(national: str, desc: _Desc) -> bool:
    if desc is None:
        return False
    pattern, lengths = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


@dataclass(frozen=True)
class _TypeRules:
    """One region's number-type patterns, compiled once (phonenumbers' rules, its order)."""

    general: _Desc
    # (type name, desc) in the order phonenumbers tries them: the rare ones, then fixed line
    # (which is "fixed_line_or_mobile" when mobile matches too), then mobile.
    ordered: tuple[tuple[str, _Desc], ...]
    mobile: _Desc
    same_mobile_and_fixed_line: bool
    by_length: dict = field(default_factory=dict, compare=False, hash=False)

    def type_of(self, national: str) -> str:
        if not _matches(national, self.general):
            return _UNKNOWN
        length = len(national)
        combined = self.by_length.get(length, False)
        if combined is False:
            combined = self.by_length[length] = self._combined(length)
        if combined is None:
            return _UNKNOWN
        pattern, names = combined
        match = pattern.fullmatch(national)
        if match is None:
            return _UNKNOWN
        name = names[int(match.lastgroup[1:])]
        if name == "fixed_line" and (
            self.same_mobile_and_fixed_line or _matches(national, self.mobile)
        ):
            return "fixed_line_or_mobile"
        return name

    def _combined(self, length: int) -> tuple[re.Pattern, tuple[str, ...]] | None:
        """One pattern of the types a number of this length may be, in order: the first
        alternative that matches the whole number is the type phonenumbers finds first."""
        types = [
            (name, desc[0].pattern)
            for name, desc in self.ordered
            if desc is not None and (not desc[1] or length in desc[1])
        ]
        if not types:
            return None
        alternatives = "|".join(f"(?P<t{i}>{pattern})" for i, (_, pattern) in enumerate(types))
        return re.compile(alternatives), tuple(name for name, _ in types)


@functools.lru_cache(maxsize=256)
def _main_region_rules(country_code: str) -> _TypeRules | None:
    """The rules of the main region of a calling code, when phonenumbers would pick it for
    any number of its own (a main region without leading digits is tried first)."""
    region = phonenumbers.region_code_for_country_code(int(country_code))
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.leading_digits:
        return None
    same = bool(metadata.same_mobile_and_fixed_line_pattern)
    mobile = _desc(metadata.mobile)
    ordered = [(name, _desc(getattr(metadata, attr))) for name, attr in _RARE_TYPES]
    ordered.append(("fixed_line", _desc(metadata.fixed_line)))
    if not same:
        ordered.append(("mobile", mobile))
    return _TypeRules(
        general=_desc(metadata.general_desc),
        ordered=tuple(ordered),
        mobile=mobile,
        same_mobile_and_fixed_line=same,
    )


def _fast_type(e164: str) -> str | None:
    """phonenumbers' answer for a number of its calling code's main region; else None.

    Calling codes are prefix-free, so the first of 1-3 digits that is one is the code. A type
    other than unknown for the main region is the one phonenumbers gives (it picks that
    region first); anything else, or a national number with a leading zero, goes to it.
    """
    digits = e164[1:]
    if not digits.isdigit():
        return None
    for size in (1, 2, 3):
        code = digits[:size]
        if code in _CALLING_CODES:
            national = digits[size:]
            if not national or national[0] == "0":
                return None
            rules = _main_region_rules(code)
            if rules is None:
                return None
            found = rules.type_of(national)
            return found if found != _UNKNOWN else None
    return None


def phone_type(e164: str) -> str:
    """``mobile``, ``fixed_line``, ``fixed_line_or_mobile``, ``voip``, ``premium_rate`` ...

    ``unknown`` for a number in no allocated range. The answer is phonenumbers' own; most
    numbers get it from the patterns compiled here, without parsing the text again.
    """
    found = _fast_type(e164)
    if found is not None:
        return found
    return _library_type(e164)


@functools.lru_cache(maxsize=4096)
def _library_type(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    return PhoneNumberType.to_string(phonenumbers.number_type(number)).lower()


class PhoneEnricher:
    name = "phone"
    # tps and screened_at are filled by screening (null until a TPS list screens the number).
    keys = ("type", "tps", "screened_at")

    def __call__(self, leads: Sequence[EnrichLead], ctx: EnrichContext) -> list[dict]:
        return [self._one(lead.phone) for lead in leads]

    def _one(self, phone: str) -> dict:
        if not phone.startswith("+"):
            return skipped("no_phone", self.keys)
        try:
            return {"status": OK, "type": phone_type(phone), "tps": None, "screened_at": None}
        except phonenumbers.NumberParseException:  # a custom rule set let an odd value through
            return skipped("not_e164", self.keys)
