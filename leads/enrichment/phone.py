"""The phone step: the number's type (mobile, fixed_line, voip ...), from phonenumbers offline."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import phonenumbers
from phonenumbers import PhoneNumberType

from leads.enrichment.base import OK, EnrichContext, EnrichLead, skipped


@functools.lru_cache(maxsize=8192)
def phone_type(e164: str) -> str:
    """``mobile``, ``fixed_line``, ``fixed_line_or_mobile``, ``voip``, ``premium_rate`` ...

    ``unknown`` for a number in no allocated range.
    """
    number = phonenumbers.parse(e164, None)
    return PhoneNumberType.to_string(phonenumbers.number_type(number)).lower()


class PhoneEnricher:
    name = "phone"

    def __call__(self, leads: Sequence[EnrichLead], ctx: EnrichContext) -> list[dict]:
        return [
            {"status": OK, "type": phone_type(lead.phone)}
            if lead.phone.startswith("+")
            else skipped("no_phone")
            for lead in leads
        ]
