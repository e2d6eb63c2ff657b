"""Deliveries and their customer's endpoints: bound to the first one added, released when one
is re-enabled."""

from datetime import datetime

from webhooks.models import OPEN_STATUSES, Delivery, DeliveryStatus


def deliveries_bind_endpoint(*, customer_pk: int, endpoint_pk: int) -> int:
    """Give the customer's open deliveries with no endpoint (and no batch URL) this one."""
    return Delivery.objects.filter(
        batch__customer_id=customer_pk,
        batch__webhook_url="",
        customer_endpoint__isnull=True,
        status__in=OPEN_STATUSES,
    ).update(customer_endpoint_id=endpoint_pk)


def deliveries_release_endpoint(*, endpoint_pk: int, now: datetime) -> int:
    """Make an endpoint's waiting deliveries due now (it was re-enabled); those still inside
    their customer's delay keep their time. Returns how many."""
    return Delivery.objects.filter(
        customer_endpoint_id=endpoint_pk,
        status=DeliveryStatus.SCHEDULED,
        due_at__lte=now,
        next_attempt_at__gt=now,
    ).update(next_attempt_at=now)
