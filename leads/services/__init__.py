"""Lead writes: a batch's rows, their outcomes, duplicate links and claims, purges, erasure."""

from leads.scopes import EVERY_SCOPE, GLOBAL_SCOPE, claim_scope
from leads.services.claims import lead_owners_release, leads_claim
from leads.services.company import (
    CompanyPrefetch,
    company_cache_purge_expired,
    company_cached,
    company_prefetch,
    company_provider,
    company_results,
)
from leads.services.contacts import contact_claims_tombstone, leads_claim_contacts
from leads.services.duplicates import Merge, leads_link_duplicates, leads_merge_fields
from leads.services.enrichment import mx_cache_purge_expired, mx_cached, mx_prefetch
from leads.services.erasure import (
    lead_ids_tombstone,
    lead_ids_tombstones_missing,
    lead_owners_tombstone,
    leads_erase,
)
from leads.services.purge import leads_in_range, leads_purge_range
from leads.services.rows import (
    INSERT_COLUMNS,
    OUTCOME_COLUMNS,
    LeadOutcome,
    NewLead,
    leads_fail_pending,
    leads_insert,
    leads_store_outcomes,
)

__all__ = [
    "EVERY_SCOPE",
    "GLOBAL_SCOPE",
    "INSERT_COLUMNS",
    "OUTCOME_COLUMNS",
    "CompanyPrefetch",
    "LeadOutcome",
    "Merge",
    "NewLead",
    "claim_scope",
    "company_cache_purge_expired",
    "company_cached",
    "company_prefetch",
    "company_provider",
    "company_results",
    "contact_claims_tombstone",
    "lead_ids_tombstone",
    "lead_ids_tombstones_missing",
    "lead_owners_release",
    "lead_owners_tombstone",
    "leads_claim",
    "leads_claim_contacts",
    "leads_erase",
    "leads_fail_pending",
    "leads_in_range",
    "leads_insert",
    "leads_link_duplicates",
    "leads_merge_fields",
    "leads_purge_range",
    "leads_store_outcomes",
    "mx_cache_purge_expired",
    "mx_cached",
    "mx_prefetch",
]
