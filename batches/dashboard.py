"""Reads for the operator console: the dashboard figures and the panels of a batch page."""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from batches.models import BatchJob, BatchStatus
from batches.selectors import batches_visible, leads_validated_between
from customers.selectors import user_sees_all_customers
from leads.models import LeadStatus
from leads.rules import message_for
from webhooks.models import OPEN_STATUSES, Delivery, DeliveryStatus
from webhooks.selectors import (
    awaiting_operator,
    batch_disabled_endpoints,
    batch_next_due,
    batch_rejection_reasons,
    customers_held_past,
    delivery_status_counts,
    resent_count,
    sweep_last_run,
    sweep_scheduled_since,
)


def dashboard_figures(*, user=None) -> dict:
    """The admin index's figures for the last 24 hours and the next hour.

    Counted over the batches ``user`` may see (None: every batch).
    """
    batches = BatchJob.objects.all()
    in_scope = {}  # who sees all is not slowed by a filter that keeps every row
    if user is not None and not user_sees_all_customers(user):
        batches = batches_visible(user=user)
        in_scope = {"batch__in": batches.values("pk")}
    now = timezone.now()
    day_ago = now - timedelta(hours=24)
    # Each figure from its own index (the tables are never read whole): failed and rejected
    # deliveries, delivered ones by time, open ones by due time. Counts of `status`, which
    # is never null, so they are read from the index alone.
    deliveries = Delivery.objects.filter(**in_scope)
    ended = deliveries.filter(status__in=[DeliveryStatus.FAILED, DeliveryStatus.REJECTED])
    figures = ended.aggregate(
        failed_recent=Count(
            "status", filter=Q(status=DeliveryStatus.FAILED, updated_at__gte=day_ago)
        ),
        rejected_recent=Count(
            "status", filter=Q(status=DeliveryStatus.REJECTED, updated_at__gte=day_ago)
        ),
    )
    # Not those re-sent already (their re-sends carry the leads) or erased (never re-sent).
    figures["waiting_for_operator"] = awaiting_operator(deliveries).count()
    figures["delivered"] = deliveries.filter(delivered_at__gte=day_ago).count()
    # A disabled endpoint's deliveries wait for an operator to re-enable it, however
    # overdue, and a customer's wait for its delivery window or daily cap: counted apart,
    # never as about to go out.
    hour = now + timedelta(hours=1)
    due = deliveries.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=hour)
    to_disabled = Q(customer_endpoint__is_enabled=False)  # as the claims leave them
    held = customers_held_past(hour)
    to_held = Q(batch__customer_id__in=held)
    figures.update(
        due.aggregate(
            due_next_hour=Count("pk", filter=~to_disabled & ~to_held if held else ~to_disabled),
            waiting_disabled=Count("pk", filter=to_disabled),
            **({"waiting_held": Count("pk", filter=~to_disabled & to_held)} if held else {}),
        )
    )
    last_run = sweep_last_run()
    late_after = timedelta(seconds=3 * settings.WEBHOOK_SWEEP_SECONDS + 30)
    # Never run: late only once the schedule has had time to run it (not in the first
    # minute after a new deployment), or at once when there is no enabled schedule.
    expected_since = last_run or sweep_scheduled_since()
    # Every lead validated, whatever its result; the valid ones are what the delivered
    # leads report counts.
    validated = leads_validated_between(batches=batches, since=day_ago).aggregate(
        leads_validated=Count("pk"), leads_valid=Count("pk", filter=Q(status=LeadStatus.VALID))
    )
    return {
        **validated,
        "batches_processing": batches.filter(
            status__in=[BatchStatus.PENDING, BatchStatus.PROCESSING]
        ).count(),
        "open_by_customer": list(
            batches.filter(status__in=[BatchStatus.PENDING, BatchStatus.PROCESSING])
            .values_list("customer__slug")
            .annotate(count=Count("pk"))
            .order_by("customer__slug")
        ),
        "sweep_last_run": last_run,
        "sweep_late": expected_since is None or now - expected_since > late_after,
        **figures,
    }


def batch_error_breakdown(*, batch: BatchJob) -> list[dict]:
    """Rows per error code (count, message), most frequent first.

    Counted from the invalid rows' codes (only they have any): every code, a deployment's
    own validators' and ENRICH_REJECT_DISPOSABLE's too, not only the built-in ones.
    """
    counts: Counter[str] = Counter()
    invalid = batch.leads.filter(status=LeadStatus.INVALID).values_list("errors", flat=True)
    for errors in invalid.iterator(chunk_size=5000):
        counts.update(set(errors or ()))
    rows = [{"code": code, "count": n, "message": message_for(code)} for code, n in counts.items()]
    return sorted(rows, key=lambda row: (-row["count"], row["code"]))


def batch_webhook_summary(*, batch: BatchJob) -> dict:
    """Delivery counts by status, receivers' rejection reasons and the next due time."""
    counts = delivery_status_counts(batch_pk=batch.pk)
    ended = counts[DeliveryStatus.FAILED] + counts[DeliveryStatus.REJECTED]
    waiting = sum(counts[status] for status in OPEN_STATUSES)
    next_due = batch_next_due(  # as /webhook_status gives it, sending ones too
        batch_pk=batch.pk, customer_pk=batch.customer_id, statuses=OPEN_STATUSES
    )
    return {
        "counts": [
            (label, counts[value], value)
            for value, label in DeliveryStatus.choices
            if counts[value]
        ],
        "total": sum(counts.values()),
        "rejections": batch_rejection_reasons(batch_pk=batch.pk) if counts["rejected"] else [],
        # Shown beside the counts: a failed delivery re-sent since is no longer a problem.
        "resent": resent_count(batch_pk=batch.pk) if ended else 0,
        "next_due": next_due,
        "waiting": waiting,
        # Named on the page: the sending banner speaks of secrets and routes, not of these.
        "disabled": batch_disabled_endpoints(batch_pk=batch.pk) if waiting else [],
    }
