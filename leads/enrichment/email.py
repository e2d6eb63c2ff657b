"""The e-mail step: disposable, role, free-mail, a likely typo's fix and (optionally) MX."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

from leads.enrichment.base import OK, EnrichContext, EnrichLead, skipped
from leads.enrichment.domains import POPULAR_DOMAINS, is_disposable, is_free, is_role


@functools.lru_cache(maxsize=4096)
def suggest_domain(domain: str) -> str | None:
    """The popular domain this one is most likely a typo of, or None.

    Conservative: one edit (a swap counts as one) away, two for long domains, and only when
    the domain is not itself a known provider. Typo domains are often on the disposable list
    (squatted), so being on it does not stop a suggestion.
    """
    if domain in POPULAR_DOMAINS or is_free(domain):
        return None
    match = extractOne(domain, POPULAR_DOMAINS, scorer=OSA.distance, score_cutoff=2)
    if match is None:
        return None
    candidate, distance, _ = match
    allowed = 2 if len(candidate) >= 12 else 1
    return candidate if 0 < distance <= allowed else None


def email_facts(address: str, mx: bool | None = None) -> dict:
    local, _, domain = address.rpartition("@")
    suggestion = suggest_domain(domain)
    return {
        "status": OK,
        "disposable": is_disposable(domain),
        "role": is_role(local),
        "free": is_free(domain),
        "suggestion": f"{local}@{suggestion}" if suggestion else None,
        "mx": mx,
    }


class EmailEnricher:
    name = "email"
    keys = ("disposable", "role", "free", "suggestion", "mx")

    def __call__(self, leads: Sequence[EnrichLead], ctx: EnrichContext) -> list[dict]:
        mx = ctx.mx
        results = []
        for lead in leads:
            if "@" not in lead.email:
                results.append(skipped("no_email", self.keys))
                continue
            domain = lead.email.rpartition("@")[2]
            results.append(email_facts(lead.email, mx.get(domain) if mx is not None else None))
        return results
