"""Reads: how each customer endpoint has answered over the last hours, from the attempt log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from valify.bulk import percentile_aggregate, percentile_by_group
from webhooks.models import DeliveryAttempt
from webhooks.verdicts import GONE

HEALTH_WINDOW = timedelta(hours=24)
LATENCY_PERCENTILE = 0.95


@dataclass(frozen=True, slots=True)
class EndpointFigures:
    """An endpoint's attempts in the window: how many, how many succeeded, p95 latency."""

    attempts: int
    successes: int
    p95_ms: float | None  # over the requests made (none: no request in the window)

    @property
    def success_rate(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0


def attempt_succeeded() -> Q:
    """An attempt the receiver took: 2xx, or a verdict on the lead (WEBHOOK_REJECT_STATUSES).

    As for the health rule, a rejection is an answer all the same: the endpoint works.
    """
    verdicts = [code for code in settings.WEBHOOK_REJECT_STATUSES if code != GONE]
    return Q(status_code__gte=200, status_code__lt=300) | Q(status_code__in=verdicts)


def endpoints_figures(
    endpoint_pks: Iterable[int], *, now: datetime | None = None
) -> dict[int, EndpointFigures]:
    """{endpoint pk: its figures over the last 24 h}, for a page of endpoints at once (one
    query on PostgreSQL, two on SQLite, however many); an endpoint with no attempt in the
    window is left out.

    Latency counts attempts that made a request (an answer, or time spent waiting for
    one), not those refused before any was sent.
    """
    pks = sorted(set(endpoint_pks))
    if not pks:
        return {}
    since = (now or timezone.now()) - HEALTH_WINDOW
    group = "delivery__customer_endpoint_id"
    attempts = DeliveryAttempt.objects.filter(
        delivery__customer_endpoint_id__in=pks, started_at__gte=since
    ).order_by()
    made_request = Q(status_code__isnull=False) | Q(duration_ms__gt=0)
    figures = {"n": Count("pk"), "ok": Count("pk", filter=attempt_succeeded())}
    p95 = percentile_aggregate("duration_ms", fraction=LATENCY_PERCENTILE, filter=made_request)
    if p95 is not None:
        figures["p95"] = p95
    rows = list(attempts.values(group).annotate(**figures))
    if p95 is None:  # no percentile aggregate here: a second query
        latency = percentile_by_group(
            attempts.filter(made_request),
            group=group,
            value="duration_ms",
            fraction=LATENCY_PERCENTILE,
        )
        for row in rows:
            row["p95"] = latency.get(row[group])
    return {row[group]: EndpointFigures(row["n"], row["ok"], row["p95"]) for row in rows}
