"""Prometheus metrics, computed from the database at scrape time (no state in the web process)."""

from django.db.models import Min, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import CollectorRegistry

from batches.models import BatchJob, BatchStatus
from webhooks.models import DUE_STATUSES, Delivery
from webhooks.selectors import delivery_status_counts, sweep_last_run


class ValifyCollector:
    """Every figure comes from the rows, so any web process answers the same."""

    def collect(self):
        now = timezone.now()
        totals = BatchJob.objects.aggregate(
            valid=Sum("valid_count"),
            invalid=Sum("invalid_count"),
            duplicate=Sum("duplicate_count"),
            failed=Sum("failed_count"),
        )
        leads = CounterMetricFamily(
            "valify_leads_validated",
            "Leads of finished batches by validation status.",
            labels=["status"],
        )
        for status, value in totals.items():
            leads.add_metric([status], value or 0)
        yield leads

        deliveries = GaugeMetricFamily(
            "valify_deliveries", "Webhook deliveries by status.", labels=["status"]
        )
        for status, count in delivery_status_counts().items():
            deliveries.add_metric([status], count)
        yield deliveries

        oldest = Delivery.objects.filter(
            status__in=DUE_STATUSES, next_attempt_at__lte=now
        ).aggregate(at=Min("next_attempt_at"))["at"]
        yield GaugeMetricFamily(
            "valify_oldest_due_delivery_seconds",
            "How long the oldest due delivery has been waiting (0 when none is due).",
            value=(now - oldest).total_seconds() if oldest else 0,
        )

        last_run = sweep_last_run()
        yield GaugeMetricFamily(
            "valify_sweep_lag_seconds",
            "Seconds since the webhook sweep last ran (-1 when it never ran).",
            value=(now - last_run).total_seconds() if last_run else -1,
        )

        processing = BatchJob.objects.filter(
            status__in=[BatchStatus.PENDING, BatchStatus.PROCESSING]
        ).count()
        yield GaugeMetricFamily(
            "valify_batches_processing", "Batches pending or processing.", value=processing
        )


def metrics_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ValifyCollector())
    return registry
