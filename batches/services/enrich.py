"""A chunk's enrichment: the network lookups before its transaction, the offline steps inside."""

from __future__ import annotations

from django.conf import settings

from leads.enrichment import (
    DISPOSABLE_CODE,
    EnrichContext,
    EnrichLead,
    enrich_leads,
    is_disposable_result,
    load_enrichers,
)
from leads.models import LeadStatus, LeadValidation
from leads.services import mx_cached, mx_prefetch


def _domain(email: str) -> str:
    return email.strip().rpartition("@")[2].lower() if "@" in email else ""


def chunk_prefetch(*, batch_pk: int, first_seq: int, last_seq: int) -> None:
    """Fill the caches the chunk's enrichment reads (MX), outside its transaction."""
    if not settings.ENRICH_EMAIL_MX:
        return
    emails = LeadValidation.objects.filter(
        batch_id=batch_pk, seq__gte=first_seq, seq__lte=last_seq, status=LeadStatus.PENDING
    ).values_list("email", flat=True)
    mx_prefetch(_domain(email) for email in emails)


def chunk_enrich(rows: list[dict], results: dict) -> tuple[dict[int, dict], set[int]]:
    """Enrich the valid leads among `results` (by row pk).

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
    answers = enrich_leads(
        leads,
        enrichers=load_enrichers(settings.LEAD_ENRICHERS),
        ctx=EnrichContext(phone_region=settings.PHONE_DEFAULT_REGION, mx=mx),
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
