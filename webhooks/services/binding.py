"""Bind deliveries that waited for their customer's first endpoint to it."""

from webhooks.models import OPEN_STATUSES, Delivery


def deliveries_bind_endpoint(*, customer_pk: int, endpoint_pk: int) -> int:
    """Give the customer's open deliveries with no endpoint (and no batch URL) this one."""
    return Delivery.objects.filter(
        batch__customer_id=customer_pk,
        batch__webhook_url="",
        customer_endpoint__isnull=True,
        status__in=OPEN_STATUSES,
    ).update(customer_endpoint_id=endpoint_pk)
