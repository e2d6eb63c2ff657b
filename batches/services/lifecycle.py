"""Batch lifecycle: finalize, fail, cancel, force-complete, reprocess, reconcile stalled work."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from alerts.services import batch_failed_alert
from batches.models import BatchJob, BatchStatus
from batches.selectors import batch_lead_counts, batch_pending_ranges
from batches.services.chunks import batch_has_pending
from batches.services.dispatch import chunks_dispatch, split_queue
from batches.services.history import history_record, system_user
from batches.services.retention import batch_is_purged
from leads.models import LeadStatus, LeadValidation
from leads.services import leads_fail_pending
from webhooks.services import batch_deliveries_cancel

logger = logging.getLogger(__name__)


def _counts_update(batch_pk: int) -> dict:
    counts = batch_lead_counts(batch_pk=batch_pk)
    return {
        "total_leads": counts["total"],
        "processed_leads": counts["total"] - counts[LeadStatus.PENDING],
        "valid_count": counts[LeadStatus.VALID],
        "invalid_count": counts[LeadStatus.INVALID],
        "duplicate_count": counts[LeadStatus.DUPLICATE],
        "failed_count": counts[LeadStatus.FAILED],
    }


def batch_finalize(*, batch_pk: int) -> bool:
    """Complete a processing batch with no pending rows; counts come from the rows.

    Any number of callers (chord callback, last chunk, reconciler) may call it: the batch
    row is locked first, so exactly one completes the batch. The rows are read once, for
    the counts that also say whether any is still pending (a row never goes back to
    pending while its batch is processing).
    """
    processing = BatchJob.objects.filter(pk=batch_pk, status=BatchStatus.PROCESSING)
    if not processing.exists():
        return False
    with transaction.atomic():
        # A cancel or a fail waits for this lock, or this waits for theirs and then skips.
        if not processing.select_for_update().values_list("pk", flat=True).first():
            return False
        counts = _counts_update(batch_pk)
        if counts["processed_leads"] < counts["total_leads"]:
            return False
        done = processing.update(
            status=BatchStatus.COMPLETED, completed_at=timezone.now(), error="", **counts
        )
    if done:
        logger.info("batch.completed", extra={"batch_pk": batch_pk})
    return bool(done)


def chunk_finished(*, batch_pk: int) -> bool:
    """After a chunk ran: whoever sees no pending rows left finalizes the batch.

    The chord counter is not exactly-once, so the last chunk does not wait for it.
    """
    if batch_has_pending(batch_pk=batch_pk):
        return False
    return batch_finalize(batch_pk=batch_pk)


def failure_text(exc: BaseException) -> str:
    """How a batch's `error` names an exception: by its kind, never by its text.

    An exception's text can quote the row it failed on (PostgreSQL's COPY line, a parser's
    "Unknown string format: <cell>"), and a batch's error is shown to every viewer: it says
    only which kind of error it was (the worker's log has the whole of it).
    """
    kind = "a database error" if isinstance(exc, DatabaseError) else "an unexpected error"
    return f"{kind} ({type(exc).__name__}; the worker's log has its detail)"


def batch_fail(*, batch_pk: int, reason: str) -> bool:
    """Mark an unfinished batch failed with the reason (its rows stay as they are).

    The alert is written with the change, and e-mailed once it commits.
    """
    with transaction.atomic():
        done = BatchJob.objects.filter(
            pk=batch_pk, status__in=[BatchStatus.PENDING, BatchStatus.PROCESSING]
        ).update(status=BatchStatus.FAILED, error=reason[:2000], **_counts_update(batch_pk))
        if done:
            batch_failed_alert(batch=BatchJob.objects.get(pk=batch_pk), reason=reason[:2000])
    if done:
        logger.warning("batch.failed", extra={"batch_pk": batch_pk, "reason": reason})
    return bool(done)


def batch_cancel(*, batch: BatchJob, reason: str = "Batch cancelled by an operator.") -> bool:
    """Stop a batch: pending rows become failed, its unsent deliveries cancelled.

    Deliveries already claimed by a sender are cancelled too: none goes out after this
    returns, beyond a request already on the wire.
    """
    if batch_is_purged(batch_pk=batch.pk):
        return False  # its rows are gone: recounting them would zero the kept counts
    with transaction.atomic():
        done = BatchJob.objects.filter(
            pk=batch.pk,
            status__in=[BatchStatus.PENDING, BatchStatus.PROCESSING, BatchStatus.FAILED],
        ).update(status=BatchStatus.CANCELLED, completed_at=timezone.now())
        if not done:
            return False
        leads_fail_pending(batch_pk=batch.pk, reason=reason)
        batch_deliveries_cancel(batch_pk=batch.pk, reason=reason)
        BatchJob.objects.filter(pk=batch.pk).update(**_counts_update(batch.pk))
    return True


def batch_force_complete(
    *, batch: BatchJob, reason: str = "Not processed: batch force-completed by an operator."
) -> bool:
    """Finalize with what is done: pending rows become failed, the batch completed."""
    if batch_is_purged(batch_pk=batch.pk):
        return False  # its rows are gone: recounting them would zero the kept counts
    with transaction.atomic():
        done = BatchJob.objects.filter(
            pk=batch.pk, status__in=[BatchStatus.PROCESSING, BatchStatus.FAILED]
        ).update(status=BatchStatus.COMPLETED, completed_at=timezone.now())
        if not done:
            return False
        leads_fail_pending(batch_pk=batch.pk, reason=reason)
        BatchJob.objects.filter(pk=batch.pk).update(**_counts_update(batch.pk))
    return True


def batch_reprocess(*, batch: BatchJob) -> list[tuple[int, int]] | None:
    """Put an unfinished or failed batch back to work; only unfinished rows are redone.

    Returns the chunk ranges queued (empty when only a finalize was needed), or None when
    the batch was never split and its split was queued again.
    """
    batch.refresh_from_db()
    if batch_is_purged(batch_pk=batch.pk):
        return []  # its file and rows are gone: nothing can be redone
    if batch.status == BatchStatus.PENDING:
        transaction.on_commit(lambda: split_queue(batch_pk=batch.pk))
        return None
    if batch.status not in (BatchStatus.PROCESSING, BatchStatus.FAILED):
        return []
    if not LeadValidation.objects.filter(batch_id=batch.pk).exists():
        # Failed before or during the split: the split starts over.
        BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.PENDING, error="")
        transaction.on_commit(lambda: split_queue(batch_pk=batch.pk))
        return None
    BatchJob.objects.filter(pk=batch.pk).update(
        status=BatchStatus.PROCESSING, error="", completed_at=None, progress_at=timezone.now()
    )
    ranges = batch_pending_ranges(batch_pk=batch.pk)
    transaction.on_commit(lambda: chunks_dispatch(batch_pk=batch.pk, ranges=ranges))
    return ranges


def batch_reconcile() -> dict[str, int]:
    """Re-drive batches whose progress stalled (a worker died, a message was lost)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.STALL_TIMEOUT_SECONDS)
    stats = {"split": 0, "chunks": 0, "finalized": 0}
    waiting = BatchJob.objects.filter(status=BatchStatus.PENDING, progress_at__lt=cutoff)
    for pk in waiting.values_list("pk", flat=True):
        if BatchJob.objects.filter(pk=pk, progress_at__lt=cutoff).update(progress_at=now):
            split_queue(batch_pk=pk)
            stats["split"] += 1
    stalled = BatchJob.objects.filter(status=BatchStatus.PROCESSING, progress_at__lt=cutoff)
    for pk in stalled.values_list("pk", flat=True):
        if batch_finalize(batch_pk=pk):
            stats["finalized"] += 1
            continue
        # Restart the clock first, so the same chunks are not queued again every run.
        if not BatchJob.objects.filter(pk=pk, progress_at__lt=cutoff).update(progress_at=now):
            continue
        ranges = batch_pending_ranges(batch_pk=pk)
        chunks_dispatch(batch_pk=pk, ranges=ranges)
        stats["chunks"] += len(ranges)
        logger.warning("batch.redriven", extra={"batch_pk": pk, "chunks": len(ranges)})
        # The batch page says so too, not only the worker's log.
        history_record(
            user=system_user(),
            obj=BatchJob.objects.get(pk=pk),
            message=(
                f"No progress for {settings.STALL_TIMEOUT_SECONDS} s (a worker stopped, or a "
                f"message was lost): {len(ranges)} unfinished chunk"
                f"{'' if len(ranges) == 1 else 's'} queued again."
            ),
        )
    return stats
