"""Delivered leads per customer and day or month: what a lead business invoices from."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, F, QuerySet
from django.db.models.functions import TruncDay, TruncMonth

from batches.models import BatchJob
from batches.selectors import leads_validated_between
from customers.models import Customer
from leads.models import LeadStatus, LeadValidation
from reports.models import PurgedBatchFigures
from valify.timefmt import local_midnight
from webhooks.models import Delivery, DeliveryStatus

PERIODS = {"day": TruncDay, "month": TruncMonth}


@dataclass
class ReportRow:
    customer: str
    period: datetime
    validated: int = 0  # valid leads validated in the period
    delivered: int = 0  # leads with a delivery delivered in the period (once per lead)
    rejected: int = 0
    failed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # rejection reason -> deliveries


def delivered_leads_report(
    *, customers: QuerySet[Customer], period: str, since: datetime, until: datetime
) -> list[ReportRow]:
    """One row per customer and period with any activity in [since, until), newest first.

    The rows and linked deliveries still there are counted here; what purged rows counted
    was kept as they went (reports.services) and is added, so a figure never changes.
    """
    trunc = PERIODS[period]
    rows: dict[tuple[str, datetime], ReportRow] = {}

    def row(slug: str, at: datetime) -> ReportRow:
        return rows.setdefault((slug, at), ReportRow(customer=slug, period=at))

    batches = BatchJob.objects.filter(customer__in=customers)
    valid = leads_validated_between(batches=batches, since=since, until=until)
    for item in _grouped(valid.filter(status=LeadStatus.VALID), "validated_at", trunc, "pk"):
        row(item["slug"], item["at"]).validated = item["n"]
    deliveries = Delivery.objects.filter(batch__customer__in=customers)
    delivered = deliveries.filter(
        status=DeliveryStatus.DELIVERED, delivered_at__gte=since, delivered_at__lt=until
    )  # a purged lead's deliveries are unlinked: counted below, from what its purge kept
    for item in _grouped(delivered, "delivered_at", trunc, count="lead_id"):
        row(item["slug"], item["at"]).delivered = item["n"]
    for item in _kept(customers, period, since, until):
        found = row(item["batch__customer__slug"], item["at"])
        found.validated += item["validated"]
        found.delivered += item["delivered"]
    ended = deliveries.filter(updated_at__gte=since, updated_at__lt=until)
    for item in _grouped(ended.filter(status=DeliveryStatus.FAILED), "updated_at", trunc, "pk"):
        row(item["slug"], item["at"]).failed = item["n"]
    reasons: dict[tuple[str, datetime], dict[str, int]] = defaultdict(dict)
    rejected = (
        ended.filter(status=DeliveryStatus.REJECTED)
        .annotate(at=trunc("updated_at"))
        .values("batch__customer__slug", "at", "rejected_reason")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for item in rejected:
        key = (item["batch__customer__slug"], item["at"])
        row(*key).rejected += item["n"]
        reasons[key][item["rejected_reason"] or "(no reason given)"] = item["n"]
    for key, found in reasons.items():
        rows[key].reasons = dict(sorted(found.items(), key=lambda kv: -kv[1]))
    return sorted(rows.values(), key=lambda r: (-r.period.timestamp(), r.customer))


def lead_report_figures(*, lead_pks, period: str) -> dict[datetime, dict[str, int]]:
    """What these leads count in the report, by period: {start: {validated, delivered}}."""
    trunc = PERIODS[period]
    figures: dict[datetime, dict[str, int]] = defaultdict(lambda: {"validated": 0, "delivered": 0})
    valid = LeadValidation.objects.filter(pk__in=lead_pks, status=LeadStatus.VALID)
    for item in _grouped(valid.exclude(validated_at=None), "validated_at", trunc, "pk"):
        figures[item["at"]]["validated"] = item["n"]
    delivered = Delivery.objects.filter(lead_id__in=lead_pks, status=DeliveryStatus.DELIVERED)
    for item in _grouped(delivered.exclude(delivered_at=None), "delivered_at", trunc, "lead_id"):
        figures[item["at"]]["delivered"] = item["n"]
    return dict(figures)


def _kept(customers, period: str, since: datetime, until: datetime):
    """What purges kept, over [since, until): whole periods only. By month, a month the
    range cuts (From or To inside it) is made of its kept days in the range."""
    kept = PurgedBatchFigures.objects.filter(batch__customer__in=customers)
    fields = ("batch__customer__slug", "at", "validated", "delivered")
    if period == "day":
        return list(kept.filter(period="day", at__gte=since, at__lt=until).values(*fields))
    first_whole = trunc_start(TruncMonth, since)
    if first_whole < since:  # the range starts inside a month
        first_whole = trunc_start(TruncMonth, first_whole + timedelta(days=32))
    last_whole = trunc_start(TruncMonth, until)  # ``until`` itself on a month's first
    whole = kept.filter(period="month", at__gte=first_whole, at__lt=last_whole)
    rows = list(whole.values(*fields))
    cut = kept.filter(period="day", at__gte=since, at__lt=until).exclude(
        at__gte=first_whole, at__lt=last_whole
    )
    for item in cut.values(*fields):
        rows.append({**item, "at": trunc_start(TruncMonth, item["at"])})
    return rows


def trunc_start(trunc, when: datetime) -> datetime:
    """The start of the day or month ``when`` falls in (in TIME_ZONE), as the report's rows
    are keyed."""
    start = local_midnight(when)
    return start.replace(day=1) if trunc is TruncMonth else start


def _grouped(queryset, when: str, trunc, count: str):
    return (
        queryset.annotate(at=trunc(when), slug=F("batch__customer__slug"))
        .values("slug", "at")
        .annotate(n=Count(count, distinct=count != "pk"))
        .order_by()
    )
