"""Factories for webhook tests: batches and deliveries written directly, in bulk."""

import base64
from datetime import datetime, timedelta

from django.utils import timezone

from batches.models import BatchJob, BatchStatus
from webhooks.models import Delivery, DeliveryStatus

SECRET = "whsec_" + base64.b64encode(b"valify-webhook-test-key-0123456789").decode()


def make_batch(**fields) -> BatchJob:
    return BatchJob.objects.create(status=BatchStatus.COMPLETED, **fields)


def lead_payload(n: int, batch_id: str = "batch_000000000000") -> dict:
    return {
        "id": f"josé.núñez{n}.15031990",
        "first_name": "José",
        "last_name": f"Núñez{n}",
        "dob": "15/03/1990",
        "validation_status": "valid",
        "validation_errors": [],
        "validation_timestamp": "2026-01-15T10:30:00Z",
        "batch_id": batch_id,
        "webhook_scheduled_for": "2026-01-16T10:30:00Z",
    }


def make_deliveries(
    n: int = 1,
    *,
    batch: BatchJob | None = None,
    due: datetime | None = None,
    status: str = DeliveryStatus.SCHEDULED,
    **fields,
) -> list[Delivery]:
    """Create ``n`` deliveries due at ``due`` (default: a second ago), oldest first."""
    batch = batch or make_batch()
    due = due or timezone.now() - timedelta(seconds=1)
    created = Delivery.objects.bulk_create(
        [
            Delivery(
                batch=batch,
                lead_key=f"jose.nunez{i}.15031990",
                payload=lead_payload(i, batch.batch_id),
                status=status,
                due_at=due,
                next_attempt_at=due + timedelta(microseconds=i),
                **fields,
            )
            for i in range(n)
        ]
    )
    return sorted(created, key=lambda d: d.pk)


def rejection_quoting_the_lead(delivery: Delivery):
    """The outcome of a receiver that answered 422 quoting the delivery's lead key."""
    from webhooks.services.outcomes import Outcome

    return Outcome(
        delivery_pk=delivery.pk,
        attempt=1,
        endpoint="https://crm.example/hook",
        started_at=timezone.now(),
        duration_ms=5,
        status_code=422,
        excerpt=f'{{"reason": "{delivery.lead_key} already exists"}}',
        error="",
        status=DeliveryStatus.REJECTED,
        rejected_reason=f"{delivery.lead_key} already exists",
    )
