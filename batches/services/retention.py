"""Retention: purge the uploaded files and lead rows of batches older than RETENTION_DAYS.

What stays: the batch and its counts, each file's row (name, size, row count) marked
`purged_at`, every delivery and its attempt log with the person's values blanked (payload
fields null, lead key and response excerpts empty, the link to the lead row gone; open ones
are cancelled so nothing goes out blank), and one LeadOwner row per lead id as a tombstone
(the lead id replaced by its keyed hash, owner empty, in its claim's scope), so a later
batch with the same person is still a duplicate where the lead was (the same customer, or
any with DEDUPE_SCOPE=global); so do the e-mail and phone claims of DEDUPE_ON_EMAIL/PHONE.

Work is bounded: leads go `PURGE_CHUNK_ROWS` at a time by (batch, seq) range, each chunk in
its own short transaction, and a run can stop at a deadline; the next run carries on. Every
step only removes what is still there, so overlapping runs are harmless.
"""

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from api.idempotency import idempotency_purge_expired
from batches.models import BatchFile, BatchJob, BatchStatus
from leads.models import LeadContactClaim, LeadOwner, LeadValidation
from leads.selectors import leads_maybe_asked_ai
from leads.services import (
    company_cache_purge_expired,
    leads_in_range,
    leads_purge_range,
    mx_cache_purge_expired,
)
from reports.services import purged_figures_add
from standardiser.services import ai_cache_forget, ai_cache_purge_expired
from webhooks.models import Delivery
from webhooks.services import (
    deliveries_erase_person,
    deliveries_erasure_counts,
    deliveries_forget_leads,
)

logger = logging.getLogger(__name__)

PURGE_CHUNK_ROWS = 5_000
# A periodic run stops between chunks after this long (under the soft time limit); the next
# run goes on.
PURGE_RUN_SECONDS = 10 * 60
# Only batches that nothing works on any more; a failed batch is final unless reprocessed,
# and the lifecycle services refuse to touch a batch once purged.
PURGEABLE_STATUSES = (BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.CANCELLED)
RETENTION_CANCEL_REASON = "Cancelled: its lead data passed RETENTION_DAYS and was purged."


@dataclass
class PurgeReport:
    """What a purge did, or with `dry_run` would do."""

    cutoff: datetime
    dry_run: bool = False
    batches: int = 0
    files: int = 0
    files_failed: int = 0
    leads: int = 0
    deliveries_unlinked: int = 0
    deliveries_blanked: int = 0
    deliveries_cancelled: int = 0
    tombstones: int = 0
    contact_tombstones: int = 0  # e-mail and phone claims
    complete: bool = True  # False when the run stopped at its deadline

    def counts(self) -> dict[str, int]:
        """The numbers alone (a task's small, JSON-serialisable result)."""
        return {k: int(v) for k, v in asdict(self).items() if k not in ("cutoff", "dry_run")}


def batches_expired(*, cutoff: datetime) -> QuerySet[BatchJob]:
    """Final batches created before `cutoff` that still hold a file or a lead row, oldest first."""
    unpurged_file = BatchFile.objects.filter(batch=OuterRef("pk"), purged_at__isnull=True)
    lead = LeadValidation.objects.filter(batch=OuterRef("pk"))
    return (
        BatchJob.objects.filter(created_at__lt=cutoff, status__in=PURGEABLE_STATUSES)
        .filter(Q(Exists(unpurged_file)) | Q(Exists(lead)))
        .order_by("created_at", "pk")
    )


def caches_purge_expired() -> dict[str, int]:
    """The periodic purge of answers kept past their use: the AI standardiser's (AI_CACHE_DAYS),
    MX and company look-ups', and uploads' idempotent answers (24 h). Each may hold a person's
    values (cells, a personal e-mail domain), and nothing else ever deletes them."""
    return {
        "ai_cache_entries": ai_cache_purge_expired(),
        # A domain can be the person's own (jo@smith-family.uk).
        "enrichment_cache_entries": mx_cache_purge_expired() + company_cache_purge_expired(),
        "idempotent_responses": idempotency_purge_expired(),
    }


def batches_purge_expired_now() -> dict[str, int]:
    """The periodic purge: RETENTION_DAYS as configured (0 keeps everything), bounded."""
    if settings.RETENTION_DAYS < 1:
        return {}
    report = batches_purge_expired(days=settings.RETENTION_DAYS, max_seconds=PURGE_RUN_SECONDS)
    return report.counts()


def batches_purge_expired(
    *,
    days: int,
    dry_run: bool = False,
    chunk_rows: int = PURGE_CHUNK_ROWS,
    max_seconds: float | None = None,
    now: datetime | None = None,
) -> PurgeReport:
    """Purge the files and lead rows of every batch created more than `days` days ago.

    With `dry_run`, count what would go and change nothing. With `max_seconds`, stop between
    chunks once that much time has passed (`complete` is then False).
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    now = now or timezone.now()
    report = PurgeReport(cutoff=now - timedelta(days=days), dry_run=dry_run)
    expired = batches_expired(cutoff=report.cutoff)
    if dry_run:
        return _count_expired(expired, report)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    for batch in expired.only("pk", "batch_id"):
        if not batch_purge(
            batch=batch, report=report, now=now, chunk_rows=chunk_rows, deadline=deadline
        ):
            report.complete = False
            break
    logger.info("retention.purged", extra={"days": days, **report.counts()})
    return report


def batch_purge(
    *,
    batch: BatchJob,
    report: PurgeReport,
    now: datetime,
    chunk_rows: int = PURGE_CHUNK_ROWS,
    deadline: float | None = None,
) -> bool:
    """Delete one batch's stored files and lead rows, adding to `report`.

    Returns False when it stopped at the deadline with rows left (the next run goes on).
    """
    files = batch_files_purge(batch=batch, now=now)
    report.files += files[0]
    report.files_failed += files[1]
    leads = unlinked = blanked = cancelled = tombstones = contacts = 0
    finished = True
    bounds = LeadValidation.objects.filter(batch_id=batch.pk).aggregate(
        lo=Min("seq"), hi=Max("seq")
    )
    if bounds["lo"] is not None:
        for start in range(bounds["lo"], bounds["hi"] + 1, chunk_rows):
            if deadline is not None and time.monotonic() > deadline:
                finished = False
                break
            chunk = _purge_lead_chunk(batch.pk, start, start + chunk_rows)
            leads += chunk.leads
            unlinked += chunk.unlinked
            blanked += chunk.blanked
            cancelled += chunk.cancelled
            tombstones += chunk.tombstones
            contacts += chunk.contact_tombstones
    report.batches += 1
    report.leads += leads
    report.deliveries_unlinked += unlinked
    report.deliveries_blanked += blanked
    report.deliveries_cancelled += cancelled
    report.tombstones += tombstones
    report.contact_tombstones += contacts
    logger.info(
        "batch.purged",
        extra={
            "batch_id": batch.batch_id,
            "files": files[0],
            "leads": leads,
            "deliveries_unlinked": unlinked,
            "deliveries_blanked": blanked,
            "deliveries_cancelled": cancelled,
            "tombstones": tombstones,
            "contact_tombstones": contacts,
            "complete": finished,
        },
    )
    return finished


def batch_files_purge(*, batch: BatchJob, now: datetime) -> tuple[int, int]:
    """Delete the batch's files from storage and mark them purged; return (purged, failed).

    A purged batch can no longer be reprocessed, cancelled or force-completed.
    """
    purged = failed = 0
    for batch_file in BatchFile.objects.filter(batch_id=batch.pk, purged_at__isnull=True):
        name = batch_file.file.name
        if name:
            try:
                batch_file.file.storage.delete(name)
            except Exception:  # storage down: leave it for the next run
                logger.exception(
                    "batch.file_purge_failed", extra={"batch_id": batch.batch_id, "file": name}
                )
                failed += 1
                continue
        # The reader's notes go with the file: one may quote a row ("row 1 holds 'Jo Lee
        # 01/06/1955 jo@example.com'").
        mappings = [{**mapping, "notes": []} for mapping in batch_file.column_mapping or ()]
        BatchFile.objects.filter(pk=batch_file.pk).update(
            file="", purged_at=now, column_mapping=mappings
        )
        purged += 1
    return purged, failed


@dataclass
class _ChunkPurged:
    leads: int
    unlinked: int
    blanked: int
    cancelled: int
    tombstones: int
    contact_tombstones: int


def _purge_lead_chunk(batch_pk: int, start: int, stop: int) -> _ChunkPurged:
    """Delete the rows with start <= seq < stop, their deliveries blanked and unlinked.

    Deliveries keep their attempt log and a payload with the person's values null; they
    are blanked and their link to these rows emptied in the same transaction as the delete.
    """
    ids = leads_in_range(batch_pk=batch_pk, start=start, stop=stop).values("pk")
    with transaction.atomic():
        # One purge of a batch at a time: the report keeps what these rows counted, once.
        BatchJob.objects.select_for_update().filter(pk=batch_pk).exists()
        purged_figures_add(batch_pk=batch_pk, lead_pks=ids)
        # The model's cached answers about these rows are keyed by their cells: first.
        ai_cache_forget(
            rows=leads_maybe_asked_ai(
                leads_in_range(batch_pk=batch_pk, start=start, stop=stop)
            ).values_list("raw", "ai")
        )
        blanked = deliveries_erase_person(lead_pks=ids, reason=RETENTION_CANCEL_REASON)
        unlinked = deliveries_forget_leads(lead_pks=ids)
        deleted, tombstoned, contacts = leads_purge_range(batch_pk=batch_pk, start=start, stop=stop)
    return _ChunkPurged(
        deleted, unlinked, blanked.deliveries, blanked.cancelled, tombstoned, contacts
    )


def _count_expired(expired: QuerySet[BatchJob], report: PurgeReport) -> PurgeReport:
    batch_pks = expired.order_by().values("pk")
    report.batches = expired.count()
    report.files = BatchFile.objects.filter(batch_id__in=batch_pks, purged_at__isnull=True).count()
    lead_pks = LeadValidation.objects.filter(batch_id__in=batch_pks).values("pk")
    report.leads = lead_pks.count()
    deliveries = Delivery.objects.filter(lead_id__in=lead_pks)
    erasure = deliveries_erasure_counts(deliveries=deliveries)
    report.deliveries_unlinked = report.deliveries_blanked = erasure.deliveries
    report.deliveries_cancelled = erasure.cancelled
    report.tombstones = LeadOwner.objects.filter(owner_id__in=lead_pks).count()
    report.contact_tombstones = LeadContactClaim.objects.filter(owner_id__in=lead_pks).count()
    return report


def batch_is_purged(*, batch_pk: int) -> bool:
    """Whether retention has purged this batch (its rows can no longer be recounted)."""
    return BatchFile.objects.filter(batch_id=batch_pk, purged_at__isnull=False).exists()
