"""Reads behind the JSON endpoints: batch and webhook status, health of the parts."""

import logging
import time

from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Min

from batches.models import BatchJob, BatchStatus
from batches.selectors import batch_lead_counts
from leads.models import LeadStatus
from valify.timefmt import utc_iso
from webhooks.models import DUE_STATUSES, Delivery
from webhooks.selectors import delivery_status_counts, sweep_last_run

logger = logging.getLogger(__name__)


def batch_status(*, batch: BatchJob) -> dict:
    """The status document of DESIGN: counts from the batch row, progress floored."""
    if batch.status == BatchStatus.COMPLETED or batch.is_final:
        valid, invalid, duplicate = batch.valid_count, batch.invalid_count, batch.duplicate_count
    else:
        # Live counts while the batch runs (finalize writes the stored ones at the end).
        counts = batch_lead_counts(batch_pk=batch.pk)
        valid = counts[LeadStatus.VALID]
        invalid = counts[LeadStatus.INVALID]
        duplicate = counts[LeadStatus.DUPLICATE]
    return {
        "batch_id": batch.batch_id,
        "status": batch.status,
        "total_leads": batch.total_leads,
        "processed_leads": batch.processed_leads,
        "valid": valid,
        "invalid": invalid,
        "duplicate": duplicate,
        "progress": batch.progress,
        "created_at": utc_iso(batch.created_at),
        "completed_at": utc_iso(batch.completed_at) or None,
        "error": (batch.error or None) if batch.status == BatchStatus.FAILED else None,
    }


def webhook_status(*, batch: BatchJob) -> dict:
    """Delivery counts per status and when the next one is due."""
    next_due = Delivery.objects.filter(batch=batch, status__in=DUE_STATUSES).aggregate(
        at=Min("next_attempt_at")
    )["at"]
    return {
        "batch_id": batch.batch_id,
        "deliveries": delivery_status_counts(batch_pk=batch.pk),
        "next_due_at": utc_iso(next_due) or None,
    }


# A probe every second from a platform must not cost a broker connection every second.
HEALTH_CACHE_SECONDS = 10.0
_health_cache: dict[str, tuple[float, tuple]] = {}


def health_checks() -> tuple[dict[str, str], str | None]:
    """The checks and the last sweep time, from a result at most 10 s old."""
    now = time.monotonic()
    cached = _health_cache.get("result")
    if cached is not None and now - cached[0] < HEALTH_CACHE_SECONDS:
        return cached[1]
    result = _health_checks_now()
    _health_cache["result"] = (now, result)
    return result


def health_cache_clear() -> None:
    _health_cache.clear()


def _health_checks_now() -> tuple[dict[str, str], str | None]:
    """Check database, broker and storage; return the checks and the last sweep time.

    A failure's text (which can name hosts, ports and roles) goes to the log; callers
    decide who may read it.
    """
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure is the answer, not a crash
        checks["database"] = f"error: {exc}"[:300]
    checks["broker"] = _check_broker()
    try:
        default_storage.exists("health-check")
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {exc}"[:300]
    for part, value in checks.items():
        if value != "ok":
            logger.warning("health.failed", extra={"part": part, "error": value})
    if checks["database"] != "ok":
        return checks, None
    return checks, utc_iso(sweep_last_run()) or None


def _check_broker() -> str:
    from valify.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
        return "ok"
    except Exception as exc:
        return f"error: {exc}"[:300]
