"""Validate one chunk of a batch: rules, cross-batch claims, results, deliveries, progress."""

import logging
import time
from datetime import date, datetime

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from batches.models import BatchJob, BatchStatus
from batches.selectors import batch_customer_slug
from batches.services.chunk_rows import lead_rows, rules_fields
from batches.services.dedupe import contact_links_release
from batches.services.enrich import chunk_enrich, chunk_prefetch
from batches.services.standardise import chunk_apply_ai, chunk_ask_ai
from customers.extra import extra_sent
from customers.selectors import CustomerPolicy, customer_policy
from leads.models import LeadStatus, LeadValidation
from leads.rules import (
    LeadResult,
    RuleContext,
    Validator,
    dob_text,
    load_validators,
    message_for,
    normalise_email,
    parse_dob,
    validate_lead,
)
from leads.services import (
    LeadOutcome,
    claim_scope,
    leads_claim,
    leads_claim_contacts,
    leads_store_outcomes,
)
from screening.services import SUPPRESSED_CODE, chunk_screen
from standardiser.decide import CORRECTED
from valify.bulk import relax_commit_durability
from webhooks.services import LeadNotice, deliveries_schedule

logger = logging.getLogger(__name__)


def configured_rules(
    *, today: date, uploaded_at: datetime | None = None, policy: CustomerPolicy | None = None
) -> tuple[RuleContext, tuple[Validator, ...]]:
    """The lead rules as the settings (and the batch customer's policy) configure them."""
    policy = policy or customer_policy(None)
    ctx = RuleContext(
        today=today,
        min_age=policy.min_age,
        max_age=settings.MAX_AGE,
        phone_region=settings.PHONE_DEFAULT_REGION,
        uploaded_at=uploaded_at,
        time_zone=settings.TIME_ZONE,
        consent_required=policy.consent_required,
    )
    return ctx, load_validators(tuple(settings.LEAD_VALIDATORS))


def chunk_validate(*, batch_pk: int, first_seq: int, last_seq: int) -> dict[str, int]:
    """Validate the pending rows of seq range [first_seq, last_seq]; return small counts.

    Everything a chunk writes (rows, claims, deliveries, progress) commits together, and
    deliveries and progress follow only the rows this run moved out of `pending`: a second
    run of the same chunk, even one running at the same time, changes nothing. No row locks
    are taken up front (they cost a write per row); the outcome update itself serialises.
    """
    # Network first (the AI standardiser, then the caches enrichment reads), never inside the
    # transaction below, all within one ENRICH_CHUNK_BUDGET_SECONDS.
    deadline = time.monotonic() + settings.ENRICH_CHUNK_BUDGET_SECONDS
    answers = chunk_ask_ai(
        batch_pk=batch_pk, first_seq=first_seq, last_seq=last_seq, deadline=deadline
    )
    prefetch = chunk_prefetch(
        batch_pk=batch_pk, first_seq=first_seq, last_seq=last_seq, deadline=deadline
    )
    now = timezone.now()  # after the network: the progress clock never moves back
    with transaction.atomic():
        relax_commit_durability()
        batch = (
            BatchJob.objects.filter(pk=batch_pk)
            .only("pk", "batch_id", "status", "revalidate_existing", "created_at", "customer_id")
            .first()
        )
        if batch is None or batch.status != BatchStatus.PROCESSING:
            return {"processed": 0}
        policy = customer_policy(batch.customer_id)
        ctx, validators = configured_rules(
            today=now.date(), uploaded_at=batch.created_at, policy=policy
        )
        customer = batch_customer_slug(batch)
        rows = lead_rows(
            LeadValidation.objects.filter(
                batch_id=batch_pk, seq__gte=first_seq, seq__lte=last_seq, status=LeadStatus.PENDING
            )
        )
        if not rows:
            return {"processed": 0}

        def validate(row: dict) -> LeadResult:
            return validate_lead(
                rules_fields(row), ctx=ctx, validators=validators, malformed=bool(row["malformed"])
            )

        results = {row["pk"]: validate(row) for row in rows if row["duplicate_of_id"] is None}
        ai = chunk_apply_ai(
            rows=rows, results=results, answers=answers, ctx=ctx, validators=validators
        )
        if policy.dedupe_on_email or policy.dedupe_on_phone:
            # An e-mail or phone is held only by a valid lead: a row linked at the split to
            # an earlier one that is not valid is a lead of its own.
            for row in contact_links_release(rows, results, validate):
                results[row["pk"]] = validate(row)
        enrichments, rejected = chunk_enrich(rows, results, prefetch)
        rejected |= chunk_screen(
            rows=rows, results=results, enrichments=enrichments, customer_pk=batch.customer_id
        )
        # A lead an enrichment rule made invalid never claims.
        candidates = {
            row["lead_id"]: row["pk"]
            for row in rows
            if row["pk"] in results
            and row["lead_id"]
            and row["pk"] not in rejected
            and row["duplicate_of_id"] is None  # a corrected row can be one (in the chunk)
        }
        # Per customer, or one scope for all (DEDUPE_SCOPE).
        scope = claim_scope(customer_pk=batch.customer_id)
        lost = leads_claim(
            batch_pk=batch_pk,
            candidates=candidates,
            take_over=batch.revalidate_existing,
            scope=scope,
        )
        # Then the e-mails and phones of the leads still valid (with DEDUPE_ON_EMAIL/PHONE).
        lost_contacts = leads_claim_contacts(
            batch_pk=batch_pk,
            scope=scope,
            on_email=policy.dedupe_on_email,
            on_phone=policy.dedupe_on_phone,
            leads=(
                (row["pk"], row["lead_id"], results[row["pk"]].lead)
                for row in rows
                if row["pk"] in results
                and results[row["pk"]].status == LeadStatus.VALID
                and row["duplicate_of_id"] is None
                and row["lead_id"] not in lost
            ),
            take_over=batch.revalidate_existing,
        )
        outcomes, notices = [], []
        for row in rows:
            result = results.get(row["pk"])
            if (
                result is None
                or row["duplicate_of_id"] is not None
                or row["lead_id"] in lost
                or row["pk"] in lost_contacts
            ):
                # A lead-id duplicate links to the lead id's holder, before any e-mail's.
                duplicate_of = (
                    row["duplicate_of_id"]
                    or lost.get(row["lead_id"])
                    or lost_contacts.get(row["pk"])
                )
                outcome = _duplicate_outcome(row, duplicate_of, result)
                if row["pk"] in ai:
                    outcome.ai = ai[row["pk"]]
                    if result is not None and ai[row["pk"]]["outcome"] == CORRECTED:
                        # A duplicate by its corrected name: it shows and keys by that name.
                        outcome.lead_id = row["lead_id"]
                        outcome.first_name = result.lead.first_name[:255]
                        outcome.last_name = result.lead.last_name[:255]
                        outcome.dob = result.lead.dob
                outcomes.append(outcome)
                continue
            lead = result.lead
            outcomes.append(
                LeadOutcome(
                    pk=row["pk"],
                    status=result.status,
                    errors=result.errors,
                    first_name=lead.first_name[:255],
                    last_name=lead.last_name[:255],
                    dob=lead.dob,
                    email=lead.email[:320],
                    phone=lead.phone[:64],
                    company=lead.company[:255],
                    duplicate_of_id=None,
                    enrichment=enrichments.get(row["pk"]),
                    lead_id=row["lead_id"] if row["pk"] in ai else None,
                    ai=ai.get(row["pk"]),
                )
            )
            notices.append(
                LeadNotice(
                    lead_pk=row["pk"],
                    lead_id=row["lead_id"],
                    first_name=lead.first_name,
                    last_name=lead.last_name,
                    dob=dob_text(lead.dob, row["dob_raw"]),
                    status=result.status,
                    errors=result.errors,
                    messages=[message_for(code) for code in result.errors],
                    email=lead.email,
                    phone=lead.phone,
                    company=lead.company,
                    website=row["website"],
                    postcode=row["postcode"],
                    reference=row["reference"],
                    source_file=row["source_file"],
                    worksheet=row["worksheet"],
                    row_number=row["row_number"],
                    # Passed on as stored unless the customer limits them (send_extra).
                    extra_json=row["extra_json"] if policy.send_extra is None else "",
                    extra=_extra_limited(row["extra_json"], policy.send_extra),
                    consent_at=row["consent_at"],
                    consent_source=row["consent_source"],
                    consent_text=row["consent_text"],
                    customer=customer,
                    enrichment=enrichments.get(row["pk"]),
                    ai_corrected=row["pk"] in ai and ai[row["pk"]]["outcome"] == CORRECTED,
                    withheld=SUPPRESSED_CODE in result.errors,
                )
            )
        changed = set(leads_store_outcomes(outcomes=outcomes, validated_at=now))
        scheduled = deliveries_schedule(
            batch_pk=batch_pk,
            batch_id=batch.batch_id,
            notices=[n for n in notices if n.lead_pk in changed],
            validated_at=now,
            delay_seconds=policy.webhook_delay_seconds,
        )
        progressed = BatchJob.objects.filter(pk=batch_pk, status=BatchStatus.PROCESSING).update(
            processed_leads=F("processed_leads") + len(changed), progress_at=now
        )
        if not progressed:
            # Cancelled (or failed) while this chunk ran: none of its work stands, so no
            # delivery of it outlives the cancel. The update waited for the cancel's commit.
            transaction.set_rollback(True)
            logger.info("chunk.discarded", extra={"batch_pk": batch_pk, "first_seq": first_seq})
            return {"processed": 0}
    logger.info(
        "chunk.validated",
        extra={"batch_id": batch.batch_id, "first_seq": first_seq, "rows": len(changed)},
    )
    return {"processed": len(changed), "deliveries": scheduled}


def _duplicate_outcome(
    row: dict, duplicate_of: int | None, result: LeadResult | None = None
) -> LeadOutcome:
    """A duplicate's outcome: its contact fields as cleaned when it was validated (one
    found across batches), so it reads like an in-batch one, whose phone the split put in
    E.164; an in-batch duplicate is never validated and keeps its row's values."""
    email, phone, company = row["email"], row["phone"], row["company"]
    if result is not None:
        lead = result.lead
        email, phone, company = lead.email[:320], lead.phone[:64], lead.company[:255]
    elif email:
        email = normalise_email(email) or email  # normalised when valid, else as given
    return LeadOutcome(
        pk=row["pk"],
        status=LeadStatus.DUPLICATE,
        errors=[],
        first_name=row["first_name"],
        last_name=row["last_name"],
        dob=parse_dob(row["dob_raw"]),
        email=email,
        phone=phone,
        company=company,
        duplicate_of_id=duplicate_of,
    )


def batch_has_pending(*, batch_pk: int) -> bool:
    """Whether any row of the batch is still pending, from the batch's own counter.

    `processed_leads` moves in the same transaction as the rows it counts (and is recounted
    from the rows whenever a batch is failed, cancelled or finalized), so this needs no scan
    of the rows; finalize re-checks the rows themselves before completing anything.
    """
    return BatchJob.objects.filter(pk=batch_pk, processed_leads__lt=F("total_leads")).exists()


def _extra_limited(extra_json: str | None, headers: frozenset[str] | None) -> dict | None:
    """The supplier columns a customer's `send_extra` lets through (None: all, sent as text)."""
    if headers is None or not extra_json:
        return None
    return extra_sent(orjson.loads(extra_json), headers)
