"""The company provider step: what the provider said about the lead's company domain.

Offline: the answers were fetched into the cache before the chunk's transaction (see
leads.services.company); this step only looks the lead's domain up in them.
"""

from __future__ import annotations

from collections.abc import Sequence

from leads.enrichment.base import SKIPPED, EnrichContext, EnrichLead
from leads.enrichment.company import company_domain
from leads.enrichment.provider_http import FIELDS


def provider_result(
    status: str, reason: str | None = None, fields: dict | None = None, *, cached: bool = False
) -> dict:
    """The step's result, every key always present."""
    fields = fields or {}
    return {
        "status": status,
        "reason": reason,
        **{name: fields.get(name) or None for name in FIELDS},
        "cached": cached,
    }


# One shared answer while no provider is configured: the step runs by default, so that every
# payload's enrichment has the key DESIGN names, and costs nothing per lead then.
_NOT_CONFIGURED = provider_result(SKIPPED, "not_configured")


class CompanyProviderEnricher:
    name = "company_provider"
    keys = (*FIELDS, "cached")

    def __call__(self, leads: Sequence[EnrichLead], ctx: EnrichContext) -> list[dict]:
        known = ctx.company
        if known is None:
            return [_NOT_CONFIGURED] * len(leads)
        results = []
        for lead in leads:
            found = company_domain(website=lead.website, email=lead.email)
            if found is None:
                results.append(provider_result(SKIPPED, "no_domain"))
                continue
            result = known.get(found[0])
            results.append(dict(result) if result else provider_result(SKIPPED, "not_fetched"))
        return results
