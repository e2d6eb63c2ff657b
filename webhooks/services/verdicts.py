"""Receivers' verdicts that reach past one delivery: a URL or an endpoint answering 410 Gone."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models.functions import Now

from customers.services import endpoint_disable
from webhooks.models import OPEN_STATUSES, Delivery, DeliveryStatus
from webhooks.services.alerting import deliveries_failed_alerts
from webhooks.verdicts import GONE_ERROR


def batch_deliveries_gone(*, batch_pk: int, url: str, keep_token: uuid.UUID) -> int:
    """Fail the batch's open deliveries to its own ``url``, which answered 410 Gone.

    Deliveries held under ``keep_token`` (the sender's own page) are left to that sender,
    which records them itself. Returns how many were failed.
    """
    with transaction.atomic():
        pks = list(
            Delivery.objects.filter(
                batch_id=batch_pk, batch__webhook_url=url, status__in=OPEN_STATUSES
            )
            .exclude(lease_token=keep_token)
            .values_list("pk", flat=True)
        )
        failed = Delivery.objects.filter(pk__in=pks, status__in=OPEN_STATUSES).update(
            status=DeliveryStatus.FAILED,
            last_error=GONE_ERROR,
            lease_token=None,
            lease_expires_at=None,
            updated_at=Now(),
        )
        deliveries_failed_alerts(pks=pks)
    return failed


def endpoint_gone(*, endpoint_pk: int) -> None:
    """Disable a customer's endpoint that answered 410 Gone; its retrying deliveries go back
    to waiting as scheduled, due again once an operator re-enables it."""
    with transaction.atomic():
        if endpoint_disable(endpoint_pk=endpoint_pk, reason=GONE_ERROR):
            Delivery.objects.filter(
                customer_endpoint_id=endpoint_pk, status=DeliveryStatus.RETRYING
            ).update(status=DeliveryStatus.SCHEDULED, updated_at=Now())
