"""Delivered leads per customer and day or month: what a lead business invoices from."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet, Sum, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Concat, TruncDay, TruncMonth

from batches.models import FINAL_BATCH_STATUSES, BatchJob
from batches.selectors import leads_validated_between
from customers.models import Customer
from leads.models import LeadStatus
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
    """One row per customer and period with any activity in [since, until), newest first."""
    trunc = PERIODS[period]
    rows: dict[tuple[str, datetime], ReportRow] = {}

    def row(slug: str, at: datetime) -> ReportRow:
        return rows.setdefault((slug, at), ReportRow(customer=slug, period=at))

    # Batch counts and the audit of what was sent outlive retention, so a figure once given
    # never changes: a batch that has ended counts its stored valid leads on the day it
    # ended (completed, cancelled or failed); one still running, its rows validated so far.
    # A delivery whose lead row is gone is told apart by the batch and its payload's source.
    batches = BatchJob.objects.filter(customer__in=customers)
    valid = leads_validated_between(
        batches=batches.exclude(status__in=FINAL_BATCH_STATUSES), since=since, until=until
    ).filter(status=LeadStatus.VALID)
    for item in _grouped(valid, "validated_at", trunc, count="pk"):
        row(item["slug"], item["at"]).validated = item["n"]
    counted = (
        batches.filter(status__in=FINAL_BATCH_STATUSES, valid_count__gt=0)
        .annotate(ended=Coalesce("completed_at", "progress_at", "created_at"))
        .filter(ended__gte=since, ended__lt=until)
        .annotate(at=trunc("ended"), slug=F("customer__slug"))
        .values("slug", "at")
        .annotate(n=Sum("valid_count"))
        .order_by()
    )
    for item in counted:
        row(item["slug"], item["at"]).validated += item["n"]
    deliveries = Delivery.objects.filter(batch__customer__in=customers)
    delivered = (
        deliveries.filter(
            status=DeliveryStatus.DELIVERED, delivered_at__gte=since, delivered_at__lt=until
        )
        .annotate(at=trunc("delivered_at"), slug=F("batch__customer__slug"))
        .values("slug", "at")
        .annotate(
            kept=Count("lead_id", distinct=True),
            purged=Count(_source_row(), distinct=True, filter=Q(lead_id__isnull=True)),
        )
        .order_by()
    )
    for item in delivered:
        row(item["slug"], item["at"]).delivered = item["kept"] + item["purged"]
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


def _source_row():
    """What tells apart the deliveries of leads whose rows retention purged: the batch and
    the file, worksheet and row their payload names (fan-out copies and re-sends of one lead
    share it). The others are told apart by their lead row."""
    source = KeyTransform("source", "payload")
    text = TextField()
    return Concat(
        Cast("batch_id", text),
        Value("/"),
        KeyTextTransform("file", source),
        Value("/"),
        Coalesce(KeyTextTransform("worksheet", source), Value(""), output_field=text),
        Value("/"),
        Cast(KeyTextTransform("row", source), text),
        output_field=text,
    )


def _grouped(queryset, when: str, trunc, count: str):
    return (
        queryset.annotate(at=trunc(when), slug=F("batch__customer__slug"))
        .values("slug", "at")
        .annotate(n=Count(count, distinct=count != "pk"))
        .order_by()
    )
