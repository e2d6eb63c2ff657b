"""A chunk's enrichment: the network lookups before its transaction, the offline steps inside."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.utils import timezone

from batches.models import BatchJob, BatchStatus
from leads.enrichment import (
    DISPOSABLE_CODE,
    EnrichContext,
    EnrichLead,
    company_domain,
    enrich_leads,
    is_disposable_result,
    load_enrichers,
)
from leads.models import LeadStatus, LeadValidation
from leads.rules import normalise_email
from leads.services import (
    CompanyPrefetch,
    company_prefetch,
    company_results,
    mx_cached,
    mx_prefetch,
)

PROVIDER_STEP = "company_provider"

logger = logging.getLogger(__name__)


def _domain(email: str) -> str:
    return email.strip().rpartition("@")[2].lower() if "@" in email else ""


def provider_enabled() -> bool:
    """Whether the company provider is configured and its step is among the steps run."""
    return bool(settings.ENRICH_COMPANY_URL) and any(
        step.name == PROVIDER_STEP for step in load_enrichers(settings.LEAD_ENRICHERS)
    )


def _heartbeat(batch_pk: int) -> None:
    # A chunk busy on the network is alive: keep the reconciler from re-driving it.
    BatchJob.objects.filter(pk=batch_pk, status=BatchStatus.PROCESSING).update(
        progress_at=timezone.now()
    )


def chunk_prefetch(
    *, batch_pk: int, first_seq: int, last_seq: int, deadline: float | None = None
) -> CompanyPrefetch | None:
    """Fill the caches the chunk's enrichment reads (MX, company provider), outside its
    transaction, before `deadline` (monotonic; default ENRICH_CHUNK_BUDGET_SECONDS from now);
    return what the provider prefetch saw."""
    provider = provider_enabled()
    if not (settings.ENRICH_EMAIL_MX or provider):
        return None
    if not BatchJob.objects.filter(pk=batch_pk, status=BatchStatus.PROCESSING).exists():
        return None
    if deadline is None:
        deadline = time.monotonic() + settings.ENRICH_CHUNK_BUDGET_SECONDS
    rows = list(
        LeadValidation.objects.filter(
            batch_id=batch_pk,
            seq__gte=first_seq,
            seq__lte=last_seq,
            status=LeadStatus.PENDING,
            duplicate_of__isnull=True,  # in-batch duplicates are never enriched
        ).values_list("email", "website")
    )
    # Only valid addresses: an invalid one is never enriched, and its domain may be anything.
    emails = [(normalise_email(email) or "", website) for email, website in rows]
    if settings.ENRICH_EMAIL_MX:
        try:
            mx_prefetch(
                (_domain(email) for email, _ in emails),
                deadline=deadline,
                heartbeat=lambda: _heartbeat(batch_pk),
            )
        except Exception:
            # A step that fails never fails the chunk: its leads' MX is then "not checked".
            logger.exception("enrich.mx_prefetch_failed", extra={"batch_pk": batch_pk})
    if not provider:
        return None
    domains = set()
    for email, website in emails:
        found = company_domain(website=website or "", email=email)
        if found is not None:
            domains.add(found[0])
    try:
        return company_prefetch(domains, deadline=deadline, heartbeat=lambda: _heartbeat(batch_pk))
    except Exception:
        logger.exception("enrich.company_prefetch_failed", extra={"batch_pk": batch_pk})
        return None


def chunk_enrich(
    rows: list[dict], results: dict, prefetch: CompanyPrefetch | None = None
) -> tuple[dict[int, dict], set[int]]:
    """Enrich the valid leads among `results` (by row pk), offline, from the caches.

    Return each enriched lead's results and the pks ENRICH_REJECT_DISPOSABLE made invalid
    (their result is changed here: status invalid, code email_disposable).
    """
    valid = [
        row
        for row in rows
        if row["pk"] in results and results[row["pk"]].status == LeadStatus.VALID
    ]
    if not valid or not settings.LEAD_ENRICHERS:
        return {}, set()
    leads = [
        EnrichLead(
            email=results[row["pk"]].lead.email,
            phone=results[row["pk"]].lead.phone,
            website=row.get("website") or "",
        )
        for row in valid
    ]
    mx = mx_cached(_domain(lead.email) for lead in leads) if settings.ENRICH_EMAIL_MX else None
    company = None
    if provider_enabled():
        found = (company_domain(website=lead.website, email=lead.email) for lead in leads)
        company = company_results((f[0] for f in found if f is not None), prefetch)
    answers = enrich_leads(
        leads,
        enrichers=load_enrichers(settings.LEAD_ENRICHERS),
        ctx=EnrichContext(phone_region=settings.PHONE_DEFAULT_REGION, mx=mx, company=company),
        batch_size=settings.ENRICH_BATCH_SIZE,
    )
    enrichments = {row["pk"]: answer for row, answer in zip(valid, answers, strict=True)}
    rejected = set()
    if settings.ENRICH_REJECT_DISPOSABLE:
        for pk, answer in enrichments.items():
            if is_disposable_result(answer):
                result = results[pk]
                result.status = LeadStatus.INVALID
                result.errors = [*result.errors, DISPOSABLE_CODE]
                rejected.add(pk)
    return enrichments, rejected
