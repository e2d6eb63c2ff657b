"""The company step: the company's registrable domain, from its website or a work e-mail.

The public suffix list is the one bundled with tldextract: it is never fetched.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import tldextract

from leads.enrichment.base import OK, EnrichContext, EnrichLead, skipped
from leads.enrichment.domains import is_disposable, is_free
from leads.enrichment.email import suggest_domain

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=8192)
def registrable_domain(host: str) -> str:
    """``shop.example.co.uk`` -> ``example.co.uk``; "" when the host has no public suffix."""
    return _EXTRACT(host).top_domain_under_public_suffix


def company_domain(*, website: str, email: str) -> tuple[str, str] | None:
    """(domain, "website" | "email"), or None: never from a free-mail or disposable domain,
    nor from an e-mail domain that looks like a mistyped free-mail one (tom@yaho.co.uk)."""
    for host, source in ((website, "website"), (email.rpartition("@")[2].lower(), "email")):
        if not host or (source == "email" and suggest_domain(host)):
            continue
        domain = registrable_domain(host)
        if domain and not (is_free(host) or is_free(domain) or is_disposable(host)):
            return domain, source
    return None


class CompanyEnricher:
    name = "company"
    keys = ("domain", "from")

    def __call__(self, leads: Sequence[EnrichLead], ctx: EnrichContext) -> list[dict]:
        results = []
        for lead in leads:
            found = company_domain(website=lead.website, email=lead.email)
            if found is None:
                results.append(skipped("no_domain", self.keys))
            else:
                results.append({"status": OK, "domain": found[0], "from": found[1]})
        return results
