"""Erase one person: their values blanked wherever stored, their lead id kept as a keyed hash.

Each app writes its own tables: the uploaded files here, the lead rows and claims through
the leads services, the deliveries and attempts through a webhooks service. The files go
first, outside the transaction, so a storage failure leaves the rows in place to find the
person by again; everything else commits together, with the history entry.
"""

import logging
from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from batches.models import BatchFile, BatchJob
from batches.services.history import history_forget, history_record
from batches.services.retention import batch_files_purge
from leads.hashing import lead_key_hash
from leads.models import LeadStatus, LeadValidation
from leads.selectors import (
    contact_claims_of_person,
    email_key,
    lead_owners_of_person,
    leads_maybe_asked_ai,
    leads_of_person,
)
from leads.services import (
    EVERY_SCOPE,
    claim_scope,
    contact_claims_tombstone,
    lead_ids_tombstone,
    lead_ids_tombstones_missing,
    lead_owners_tombstone,
    leads_erase,
)
from standardiser.services import ai_cache_forget
from webhooks.services import (
    deliveries_erase_person,
    deliveries_erasure_counts,
    deliveries_of_person,
)

logger = logging.getLogger(__name__)


class ErasureRefused(Exception):
    """The erasure could not be done now; the person's rows and deliveries were left alone."""


@dataclass
class ErasureReport:
    """What an erasure did, or with `dry_run` would do. `key_hash` names the person."""

    key_hash: str
    dry_run: bool = False
    leads: int = 0
    batches: int = 0
    files: int = 0
    deliveries: int = 0
    deliveries_cancelled: int = 0
    attempts: int = 0
    tombstones: int = 0
    contact_tombstones: int = 0  # e-mail and phone claims (DEDUPE_ON_EMAIL/PHONE)
    ai_cache_entries: int = 0  # the model's cached answers about their rows

    def counts(self) -> dict[str, int]:
        """The numbers alone (what `erase_lead --json` prints, with the hash)."""
        return {k: int(v) for k, v in asdict(self).items() if k not in ("key_hash", "dry_run")}

    def summary(self) -> str:
        return (
            f"{self.leads:,} lead rows in {self.batches:,} batches, {self.files:,} files, "
            f"{self.deliveries:,} deliveries ({self.deliveries_cancelled:,} cancelled), "
            f"{self.attempts:,} attempt excerpts, {self.tombstones:,} lead-id claims, "
            f"{self.contact_tombstones:,} e-mail and phone claims"
        )


def person_erase(
    *,
    user,
    lead_id: str = "",
    email: str = "",
    batches: QuerySet[BatchJob] | None = None,
    dry_run: bool = False,
    via: str = "",
) -> ErasureReport:
    """Erase one person, found by lead id or by e-mail, in `batches` (default: every batch).

    Within `batches` (the admin passes those of the user's customers), only what those
    batches hold is touched: their rows, deliveries and claims, each claim's tombstone in
    its own scope. Another customer's rows, deliveries and claims of the same person are
    that customer's to erase. Everywhere (the command), the tombstones are in every scope.

    Blanks their lead rows, the payloads, lead keys and attempt excerpts of their
    deliveries (cancelling the open ones, those already claimed included), deletes the
    uploaded files of the batches involved (which can then no longer be reprocessed), and
    turns their lead-id, e-mail and phone claims into keyed-hash tombstones, so an upload of
    the same person later is a duplicate. Records who did it in the admin's history, with
    the hash and the counts, never the name, e-mail or lead id. With `dry_run`, count and
    change nothing. Raises ValueError unless exactly one of `lead_id` and `email` is given, and
    ErasureRefused while one of the person's rows is still being validated or when a file
    could not be deleted.
    """
    # Lead ids are lower-case by construction: "John.Smith.15031990" can only mean this one.
    lead_id, email = lead_id.strip().lower(), email.strip()
    if bool(lead_id) == bool(email):
        raise ValueError("give exactly one of a lead id and an e-mail address")
    everywhere = batches is None
    if everywhere:
        # Erasure is a duty over the whole store (the command); the admin passes the user's.
        batches = BatchJob.objects.all()
    within = None if everywhere else batches.values("pk")
    report = ErasureReport(key_hash=lead_key_hash(lead_id or email_key(email)), dry_run=dry_run)
    leads = leads_of_person(lead_id=lead_id, email=email, batch_pks=batches.values("pk"))
    found = list(leads.values_list("pk", "lead_id", "batch_id", "status", "email", "phone"))
    lead_pks = [pk for pk, *_ in found]
    lead_ids = {lid for _, lid, *_ in found if lid} | ({lead_id} if lead_id else set())
    batch_pks = sorted({batch_pk for _, _, batch_pk, *_ in found})
    if any(status == LeadStatus.PENDING for _, _, _, status, *_ in found):
        raise ErasureRefused(
            "Some of this person's rows are still being validated: erase again once their "
            "batch has finished, or cancel it first."
        )
    owners = lead_owners_of_person(lead_ids=lead_ids, batch_pks=within)
    contacts = contact_claims_of_person(
        lead_pks=lead_pks,
        emails=[email_key(row[4]) for row in found if row[4]]
        + ([email_key(email)] if email else []),
        phones=[row[5] for row in found],
        batch_pks=within,
    )
    deliveries = deliveries_of_person(lead_pks=lead_pks, lead_keys=lead_ids, batch_pks=within)
    report.leads, report.batches = len(lead_pks), len(batch_pks)
    # The lead ids of the rows found must each have a tombstone, even where no claim becomes
    # one: in every scope, or in the scopes of the customers whose copies these are.
    row_lead_ids = {lid for _, lid, *_ in found if lid}
    scopes = (
        [EVERY_SCOPE]
        if everywhere
        else sorted(
            {
                claim_scope(customer_pk=customer_pk)
                for customer_pk in BatchJob.objects.filter(pk__in=batch_pks).values_list(
                    "customer_id", flat=True
                )
            }
        )
    )
    if dry_run:
        counted = deliveries_erasure_counts(deliveries=deliveries)
        report.deliveries, report.deliveries_cancelled = counted.deliveries, counted.cancelled
        report.attempts = counted.attempts
        report.files = BatchFile.objects.filter(
            batch_id__in=batch_pks, purged_at__isnull=True
        ).count()
        report.tombstones = owners.count() + len(
            lead_ids_tombstones_missing(lead_ids=row_lead_ids - _claimed(owners), scopes=scopes)
        )
        report.contact_tombstones = contacts.count()
        return report
    report.files = _delete_files(batch_pks)
    with transaction.atomic():
        erased = deliveries_erase_person(lead_pks=lead_pks, lead_keys=lead_ids, batch_pks=within)
        report.deliveries, report.deliveries_cancelled = erased.deliveries, erased.cancelled
        report.attempts = erased.attempts
        # The model's cached answers are keyed by the cells read from the rows: first.
        report.ai_cache_entries = ai_cache_forget(
            rows=leads_maybe_asked_ai(LeadValidation.objects.filter(pk__in=lead_pks)).values_list(
                "raw", "ai"
            )
        )
        leads_erase(leads=LeadValidation.objects.filter(pk__in=lead_pks))
        # Everywhere: an erased person is a duplicate for every customer from now on.
        report.tombstones = lead_owners_tombstone(owners=owners, every_scope=everywhere)
        # A person who never held a claim (an invalid, suppressed or rejected lead) too.
        report.tombstones += lead_ids_tombstone(lead_ids=row_lead_ids, scopes=scopes)
        report.contact_tombstones = contact_claims_tombstone(
            claims=contacts, every_scope=everywhere
        )
        # The admin's history names claims by their values ("email jo@example.com").
        history_forget(
            values=[*lead_ids, *(row[4] for row in found), email, *(row[5] for row in found)]
        )
        by = "lead id" if lead_id else "e-mail"
        where = f" ({via})" if via else ""
        history_record(
            user=user,
            model=LeadValidation,
            label=f"Erased person {report.key_hash}",
            message=f"Erased the person with {by} {report.key_hash}{where}: {report.summary()}.",
        )
    logger.info("lead.erased", extra={"key_hash": report.key_hash, **report.counts()})
    return report


def _claimed(owners) -> set[str]:
    return set(owners.values_list("lead_id", flat=True))


def _delete_files(batch_pks: list[int]) -> int:
    now = timezone.now()
    purged = failed = 0
    for batch in BatchJob.objects.filter(pk__in=batch_pks).only("pk", "batch_id"):
        done, not_done = batch_files_purge(batch=batch, now=now)
        purged += done
        failed += not_done
    if failed:
        raise ErasureRefused(
            f"{failed:,} uploaded files could not be deleted from storage; nothing else was "
            "changed. Erase again once storage is back."
        )
    return purged
