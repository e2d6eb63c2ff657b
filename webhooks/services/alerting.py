"""Alerts about deliveries that failed for good: one e-mail per customer's endpoint per hour."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Count

from alerts.services import alert_recipients, deliveries_failed_alert
from batches.models import BatchJob
from webhooks.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def deliveries_failed_alerts(*, pks: Sequence[int]) -> None:
    """Alert, per endpoint, about these deliveries if they are now failed for good.

    Called in the transaction that failed them. A fault here is logged and never undoes
    or stops the recording of what was sent (a savepoint keeps it apart).
    """
    if not pks:
        return
    try:
        with transaction.atomic():
            rows = (
                Delivery.objects.filter(pk__in=pks, status=DeliveryStatus.FAILED)
                .values("endpoint", "batch__customer_id", "batch_id")
                .annotate(n=Count("pk"))
                .order_by()
            )
            # Per customer and endpoint URL: two customers may share a receiver's URL, and
            # neither is told of the other's deliveries (nor sees its alert addresses).
            counts: dict[tuple[int | None, str], int] = defaultdict(int)
            batches: dict[tuple[int | None, str], set[int]] = defaultdict(set)
            for row in rows:
                key = (row["batch__customer_id"], row["endpoint"])
                counts[key] += row["n"]
                batches[key].add(row["batch_id"])
            by_pk = BatchJob.objects.in_bulk({pk for pks in batches.values() for pk in pks})
            for (customer_pk, url), count in counts.items():
                recipients = {
                    address
                    for batch_pk in batches[customer_pk, url]
                    for address in alert_recipients(by_pk.get(batch_pk))
                }
                deliveries_failed_alert(
                    url=url, count=count, recipients=recipients, customer_pk=customer_pk
                )
    except Exception:
        logger.exception("webhooks.failure_alert_failed", extra={"deliveries": len(pks)})
