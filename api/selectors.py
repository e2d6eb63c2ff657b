"""Reads behind the JSON endpoints: batch and webhook status, health of the parts."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from batches.models import BatchJob, BatchStatus
from batches.selectors import batch_customer_slug, batch_result_counts
from customers.models import Endpoint
from valify.timefmt import utc_iso
from webhooks.models import DUE_STATUSES, FINAL_STATUSES, Delivery, DeliveryStatus
from webhooks.selectors import (
    batch_next_due,
    delivery_status_counts,
    resent_count,
    sweep_last_run,
)

logger = logging.getLogger(__name__)


def batch_status(*, batch: BatchJob) -> dict:
    """The status document of DESIGN: counts from the batch row, progress floored."""
    counts = batch_result_counts(batch=batch)
    return {
        "batch_id": batch.batch_id,
        "status": batch.status,
        "total_leads": batch.total_leads,
        "processed_leads": batch.processed_leads,
        "valid": counts["valid"],
        "invalid": counts["invalid"],
        "duplicate": counts["duplicate"],
        "progress": batch.progress,
        "created_at": utc_iso(batch.created_at),
        "completed_at": utc_iso(batch.completed_at) or None,
        "error": (batch.error or None) if batch.status == BatchStatus.FAILED else None,
        "customer": batch_customer_slug(batch),
    }


def webhook_status(*, batch: BatchJob) -> dict:
    """Delivery counts per status and when the next one is due."""
    next_due = batch_next_due(
        batch_pk=batch.pk, customer_pk=batch.customer_id, statuses=DUE_STATUSES
    )
    return {
        "batch_id": batch.batch_id,
        "customer": batch_customer_slug(batch),
        "deliveries": delivery_status_counts(batch_pk=batch.pk),
        # Each re-sent delivery counts under its own final status, its re-send under its own.
        "resent": resent_count(batch_pk=batch.pk),
        "next_due_at": utc_iso(next_due) or None,
        "endpoints": batch_endpoints(batch=batch),
    }


CURRENT_RATE_SECONDS = 60
# Finished by an answer (or the lack of one); a cancellation sends nothing.
SENT_STATUSES = tuple(s for s in FINAL_STATUSES if s != DeliveryStatus.CANCELLED)


def batch_endpoints(*, batch: BatchJob) -> list[dict]:
    """The endpoints the batch has deliveries to, with this batch's recent finishing rate.

    Two queries whatever the batch's size: one grouping its deliveries, one for the endpoints.
    """
    since = timezone.now() - timedelta(seconds=CURRENT_RATE_SECONDS)
    finished = (
        Delivery.objects.filter(batch=batch)
        .order_by()
        .values("customer_endpoint_id")
        .annotate(recent=Count("pk", filter=Q(status__in=SENT_STATUSES, updated_at__gte=since)))
    )
    recent = {row["customer_endpoint_id"]: row["recent"] for row in finished}

    def rate(pk: int | None) -> float:
        return round(recent[pk] / CURRENT_RATE_SECONDS, 1)

    entries = []
    if None in recent and batch.webhook_url:
        # The batch's own URL is no customer endpoint: the environment's rate applies to it.
        entries.append(
            {
                "id": None,
                "url": batch.webhook_url,
                "enabled": True,
                "rate_limit": float(settings.WEBHOOK_RATE_LIMIT),
                "current_rate": rate(None),
                "disabled_reason": None,
            }
        )
    endpoints = Endpoint.objects.filter(pk__in=[pk for pk in recent if pk is not None])
    for endpoint in endpoints.order_by("pk"):
        entries.append(
            {
                "id": endpoint.pk,
                "url": endpoint.url,
                "enabled": endpoint.is_enabled,
                "rate_limit": float(endpoint.rate_limit),
                "current_rate": rate(endpoint.pk),
                "disabled_reason": endpoint.disabled_reason or None,
            }
        )
    return entries


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
