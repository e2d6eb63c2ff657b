"""Schedule deliveries: one per validated lead, due WEBHOOK_DELAY_SECONDS after validation."""

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from django.conf import settings

from valify.bulk import insert_rows
from valify.jsontext import json_text
from valify.timefmt import utc_iso
from webhooks.models import Delivery, DeliveryStatus
from webhooks.payloads import LeadNotice, build_payload
from webhooks.signing import new_message_id

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
)


def deliveries_schedule(
    *, batch_pk: int, batch_id: str, notices: Sequence[LeadNotice], validated_at: datetime
) -> int:
    """Create one delivery per notice, due WEBHOOK_DELAY_SECONDS after validation.

    Payloads are frozen now, built by build_payload(); the rows go in by COPY on PostgreSQL.
    """
    if not notices:
        return 0
    due = validated_at + timedelta(seconds=settings.WEBHOOK_DELAY_SECONDS)
    return insert_rows(Delivery, _COLUMNS, _rows(batch_pk, batch_id, notices, validated_at, due))


def _rows(
    batch_pk: int,
    batch_id: str,
    notices: Sequence[LeadNotice],
    validated_at: datetime,
    due: datetime,
) -> Iterator[tuple]:
    validated_iso, due_iso = utc_iso(validated_at), utc_iso(due)
    scheduled = DeliveryStatus.SCHEDULED.value
    for notice in notices:
        payload = build_payload(
            notice=notice, batch_id=batch_id, validated_at=validated_iso, scheduled_for=due_iso
        )
        yield (
            new_message_id(),
            batch_pk,
            notice.lead_pk,
            notice.lead_id,
            json_text(payload),
            scheduled,
            "",
            due,
            due,
            0,
            "",
            validated_at,
            validated_at,
        )
