"""Alerts about deliveries that failed for good: one e-mail per endpoint per hour."""

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
                .values("endpoint", "batch_id")
                .annotate(n=Count("pk"))
                .order_by()
            )
            counts: dict[str, int] = defaultdict(int)
            batches: dict[str, set[int]] = defaultdict(set)
            for row in rows:
                counts[row["endpoint"]] += row["n"]
                batches[row["endpoint"]].add(row["batch_id"])
            by_pk = BatchJob.objects.in_bulk({pk for pks in batches.values() for pk in pks})
            for url, count in counts.items():
                recipients = {
                    address
                    for batch_pk in batches[url]
                    for address in alert_recipients(by_pk.get(batch_pk))
                }
                deliveries_failed_alert(url=url, count=count, recipients=recipients)
    except Exception:
        logger.exception("webhooks.failure_alert_failed", extra={"deliveries": len(pks)})
