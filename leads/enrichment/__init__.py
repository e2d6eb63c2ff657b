"""Lead enrichment: offline facts about a valid lead's e-mail, company and phone."""

from leads.enrichment.base import (
    FAILED,
    OK,
    SKIPPED,
    EnrichContext,
    Enricher,
    EnrichLead,
    load_enrichers,
)
from leads.enrichment.cells import enrichment_values
from leads.enrichment.company import CompanyEnricher, company_domain, registrable_domain
from leads.enrichment.company_provider import CompanyProviderEnricher, provider_result
from leads.enrichment.email import EmailEnricher, email_facts, suggest_domain
from leads.enrichment.phone import PhoneEnricher, phone_type
from leads.enrichment.runner import DISPOSABLE_CODE, enrich_leads, is_disposable_result

DEFAULT_ENRICHERS: tuple[str, ...] = (
    "leads.enrichment.EmailEnricher",
    "leads.enrichment.CompanyEnricher",
    "leads.enrichment.PhoneEnricher",
    "leads.enrichment.CompanyProviderEnricher",
)

__all__ = [
    "DEFAULT_ENRICHERS",
    "DISPOSABLE_CODE",
    "FAILED",
    "OK",
    "SKIPPED",
    "CompanyEnricher",
    "CompanyProviderEnricher",
    "EmailEnricher",
    "EnrichContext",
    "EnrichLead",
    "Enricher",
    "PhoneEnricher",
    "company_domain",
    "email_facts",
    "enrich_leads",
    "enrichment_values",
    "is_disposable_result",
    "load_enrichers",
    "phone_type",
    "provider_result",
    "registrable_domain",
    "suggest_domain",
]
