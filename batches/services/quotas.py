"""A customer's upload quotas, checked in the transaction that creates the batch."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from batches.models import BatchJob, BatchStatus
from customers.models import Customer

QUOTA_EXCEEDED = "quota_exceeded"
CUSTOMER_INACTIVE = "customer_inactive"


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Today's midnight and tomorrow's, in TIME_ZONE."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = (start + timedelta(days=1, hours=2)).replace(hour=0)  # DST-safe next midnight
    return start, tomorrow


def upload_quota_problem(*, customer_pk: int, rows: int) -> tuple[str, str] | None:
    """Lock the customer's row and say why an upload of ``rows`` is refused, or None.

    Must run inside the transaction that creates the batch: the lock makes concurrent
    uploads for one customer count each other. Returns (code, message).
    """
    customer = Customer.objects.select_for_update().get(pk=customer_pk)
    if not customer.is_active:
        return CUSTOMER_INACTIVE, f"Customer '{customer.slug}' is inactive: uploads are refused."
    batches = BatchJob.objects.filter(customer_id=customer.pk)
    if customer.max_open_batches:
        open_now = batches.filter(status__in=(BatchStatus.PENDING, BatchStatus.PROCESSING)).count()
        if open_now >= customer.max_open_batches:
            return QUOTA_EXCEEDED, (
                f"Customer '{customer.slug}' is over its quota max_open_batches: {open_now} of "
                f"{customer.max_open_batches} batches are pending or processing; it resets as "
                "they finish."
            )
    if customer.max_leads_per_day:
        start, reset = _day_bounds(timezone.now())
        used = batches.filter(created_at__gte=start).aggregate(n=Sum("total_leads"))["n"] or 0
        if used + rows > customer.max_leads_per_day:
            return QUOTA_EXCEEDED, (
                f"Customer '{customer.slug}' is over its quota max_leads_per_day: {used:,} of "
                f"{customer.max_leads_per_day:,} leads used today and this upload has {rows:,}; "
                f"it resets at {reset.isoformat(timespec='minutes')}."
            )
    return None
