"""Webhook outbox writes: schedule deliveries for validated leads."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from valify.timefmt import utc_iso
from webhooks.models import Delivery


@dataclass(frozen=True)
class LeadNotice:
    """What a delivery says about one validated lead."""

    lead_pk: int
    lead_id: str
    first_name: str
    last_name: str
    dob: str
    status: str
    errors: list[str]
    messages: list[str]
    email: str
    phone: str
    company: str
    source_file: str
    worksheet: str
    row_number: int


def build_payload(
    *, notice: LeadNotice, batch_id: str, validated_at: datetime, scheduled_for: datetime
) -> dict:
    """Return the webhook body (DESIGN's keys first; extra keys after, never removed)."""
    return {
        "id": notice.lead_id,
        "first_name": notice.first_name,
        "last_name": notice.last_name,
        "dob": notice.dob,
        "validation_status": notice.status,
        "validation_errors": notice.errors,
        "validation_timestamp": utc_iso(validated_at),
        "batch_id": batch_id,
        "webhook_scheduled_for": utc_iso(scheduled_for),
        "validation_messages": notice.messages,
        "email": notice.email,
        "phone": notice.phone,
        "company": notice.company,
        "source_file": notice.source_file,
        "worksheet": notice.worksheet,
        "row_number": notice.row_number,
    }


def deliveries_schedule(
    *, batch_pk: int, batch_id: str, notices: Sequence[LeadNotice], validated_at: datetime
) -> int:
    """Create one delivery per notice, due WEBHOOK_DELAY_SECONDS after validation."""
    due = validated_at + timedelta(seconds=settings.WEBHOOK_DELAY_SECONDS)
    Delivery.objects.bulk_create(
        [
            Delivery(
                batch_id=batch_pk,
                lead_id=n.lead_pk,
                lead_key=n.lead_id,
                payload=build_payload(
                    notice=n, batch_id=batch_id, validated_at=validated_at, scheduled_for=due
                ),
                due_at=due,
                next_attempt_at=due,
            )
            for n in notices
        ],
        batch_size=1000,
    )
    return len(notices)
