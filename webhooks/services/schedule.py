"""Schedule deliveries: one per validated lead, due WEBHOOK_DELAY_SECONDS after validation."""

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from django.conf import settings

from batches.models import BatchJob
from customers.models import Endpoint
from valify.bulk import insert_rows
from valify.timefmt import utc_iso
from webhooks.models import Delivery, DeliveryStatus
from webhooks.payloads import LeadNotice, build_payload
from webhooks.signing import new_message_ids, payload_text

_COLUMNS = (
    "msg_id",
    "batch_id",
    "lead_id",
    "lead_key",
    "payload",
    "status",
    "endpoint",
    "due_at",
    "next_attempt_at",
    "attempts",
    "last_error",
    "created_at",
    "updated_at",
    "customer_endpoint_id",
)


def deliveries_schedule(
    *,
    batch_pk: int,
    batch_id: str,
    notices: Sequence[LeadNotice],
    validated_at: datetime,
    delay_seconds: int | None = None,
) -> int:
    """Create one delivery per notice per target, due `delay_seconds` (the customer's, else
    WEBHOOK_DELAY_SECONDS) after validation.

    The targets are the batch customer's endpoints that are not archived (enabled or not), or
    none (one delivery each, unbound) for a batch with its own webhook_url or a customer
    with no endpoint yet. Payloads are frozen now, built by build_payload(); the rows go in
    by COPY on PostgreSQL.
    """
    if not notices:
        return 0
    if delay_seconds is None:
        delay_seconds = settings.WEBHOOK_DELAY_SECONDS
    due = validated_at + timedelta(seconds=delay_seconds)
    targets = _targets(batch_pk)  # read before the rows stream: COPY holds the connection
    rows = _rows(batch_pk, batch_id, notices, validated_at, due, targets)
    return insert_rows(Delivery, _COLUMNS, rows)


def _targets(batch_pk: int) -> list[int | None]:
    batch = BatchJob.objects.filter(pk=batch_pk).values("webhook_url", "customer_id").first()
    if batch is None or batch["webhook_url"]:
        return [None]
    endpoints = Endpoint.objects.filter(customer_id=batch["customer_id"], is_archived=False)
    return list(endpoints.order_by("pk").values_list("pk", flat=True)) or [None]


def _rows(
    batch_pk: int,
    batch_id: str,
    notices: Sequence[LeadNotice],
    validated_at: datetime,
    due: datetime,
    targets: Sequence[int | None],
) -> Iterator[tuple]:
    validated_iso, due_iso = utc_iso(validated_at), utc_iso(due)
    scheduled = DeliveryStatus.SCHEDULED.value
    msg_ids = iter(new_message_ids(len(notices) * len(targets)))
    for notice in notices:
        payload = build_payload(
            notice=notice, batch_id=batch_id, validated_at=validated_iso, scheduled_for=due_iso
        )
        encoded = payload_text(payload)  # the body as it is sent
        for target in targets:
            yield (
                next(msg_ids),
                batch_pk,
                notice.lead_pk,
                notice.lead_id,
                encoded,
                scheduled,
                "",
                due,
                due,
                0,
                "",
                validated_at,
                validated_at,
                target,
            )
