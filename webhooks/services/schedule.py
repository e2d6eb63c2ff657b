"""Schedule deliveries: one per validated lead, due WEBHOOK_DELAY_SECONDS after validation."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from leads.models import LeadValidation
from leads.rules import ERROR_MESSAGES
from valify.timefmt import utc_iso
from webhooks.models import Delivery, DeliveryStatus

_COPY_COLUMNS = (
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


def build_payload(
    *,
    notice: LeadNotice,
    batch_id: str,
    validated_at: datetime | str,
    scheduled_for: datetime | str,
) -> dict:
    """Return the webhook body (DESIGN's keys first; extra keys after, never removed)."""
    return {
        "id": notice.lead_id,
        "first_name": notice.first_name,
        "last_name": notice.last_name,
        "dob": notice.dob,
        "validation_status": notice.status,
        "validation_errors": notice.errors,
        "validation_timestamp": _iso(validated_at),
        "batch_id": batch_id,
        "webhook_scheduled_for": _iso(scheduled_for),
        "validation_messages": notice.messages,
    }


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else utc_iso(value)


def deliveries_schedule_for_leads(
    *, batch_pk: int, batch_id: str, lead_pks: Sequence[int], validated_at: datetime
) -> int:
    """Create one delivery per lead row from the row's stored outcome (PostgreSQL only).

    The same payload as build_payload(), built in one INSERT ... SELECT: the rows' outcome
    was just written, so nothing needs to travel back and forth through Python.
    """
    if not lead_pks:
        return 0
    due = validated_at + timedelta(seconds=settings.WEBHOOK_DELAY_SECONDS)
    table, leads = Delivery._meta.db_table, LeadValidation._meta.db_table
    # validation_messages: message_for() of each code, in the codes' order.
    messages = (
        "CASE WHEN jsonb_array_length(t.errors) = 0 THEN '[]'::jsonb ELSE ("
        "SELECT jsonb_agg(COALESCE(%(messages)s::jsonb ->> e.code, "
        "format('Failed validation rule ''%%s''.', e.code)) ORDER BY e.n) "
        "FROM jsonb_array_elements_text(t.errors) WITH ORDINALITY AS e(code, n)) END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} ({", ".join(_COPY_COLUMNS)})
            SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), %(batch_pk)s, t.id,
                t.lead_id,
                jsonb_build_object(
                    'id', t.lead_id,
                    'first_name', t.first_name,
                    'last_name', t.last_name,
                    'dob', COALESCE(to_char(t.dob, 'DD/MM/YYYY'), t.dob_raw),
                    'validation_status', t.status,
                    'validation_errors', t.errors,
                    'validation_timestamp', %(validated)s::text,
                    'batch_id', %(batch_id)s::text,
                    'webhook_scheduled_for', %(due_iso)s::text,
                    'validation_messages', {messages}
                ),
                %(status)s, '', %(due)s, %(due)s, 0, '', %(now)s, %(now)s
            FROM {leads} AS t WHERE t.id = ANY(%(pks)s) ORDER BY t.id
            """,
            {
                "batch_pk": batch_pk,
                "batch_id": batch_id,
                "validated": utc_iso(validated_at),
                "due_iso": utc_iso(due),
                "messages": json.dumps(ERROR_MESSAGES),
                "status": DeliveryStatus.SCHEDULED,
                "due": due,
                "now": validated_at,
                "pks": list(lead_pks),
            },
        )
        return cursor.rowcount


def deliveries_schedule(
    *, batch_pk: int, batch_id: str, notices: Sequence[LeadNotice], validated_at: datetime
) -> int:
    """Create one delivery per notice, due WEBHOOK_DELAY_SECONDS after validation.

    The path for databases other than PostgreSQL, where deliveries_schedule_for_leads()
    builds the same payloads in SQL from the stored rows.
    """
    due = validated_at + timedelta(seconds=settings.WEBHOOK_DELAY_SECONDS)
    validated_iso, due_iso = utc_iso(validated_at), utc_iso(due)
    Delivery.objects.bulk_create(
        [
            Delivery(
                batch_id=batch_pk,
                lead_id=n.lead_pk,
                lead_key=n.lead_id,
                payload=build_payload(
                    notice=n, batch_id=batch_id, validated_at=validated_iso, scheduled_for=due_iso
                ),
                due_at=due,
                next_attempt_at=due,
            )
            for n in notices
        ],
        batch_size=1000,
    )
    return len(notices)
