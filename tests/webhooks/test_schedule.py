"""Scheduled deliveries carry build_payload()'s body, on PostgreSQL (COPY) as elsewhere."""

import json
import re
from datetime import UTC, date, datetime

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast

from leads.models import LeadStatus, LeadValidation
from leads.rules import dob_text, message_for
from tests.webhooks.factories import make_batch
from webhooks.models import Delivery
from webhooks.services import LeadNotice, build_payload, deliveries_schedule
from webhooks.signing import payload_bytes

ROWS = [
    # (first, last, dob, dob_raw, status, errors)
    ("José", "Núñez", date(1990, 3, 15), "15/03/1990", LeadStatus.VALID, []),
    ("Zoë", "O'Brien", date(999, 1, 2), "2/1/0999", LeadStatus.INVALID, ["over_max_age"]),
    ("Ann", "Lee", None, "31/02/1990", LeadStatus.INVALID, ["dob_unparseable", "email_invalid"]),
    ('Quote "Q"', "Back\\slash", None, "", LeadStatus.INVALID, ["dob_missing", "my_rule"]),
]


@pytest.mark.django_db
def test_scheduled_payloads_match_build_payload():
    batch = make_batch()
    leads = LeadValidation.objects.bulk_create(
        [
            LeadValidation(
                batch=batch,
                seq=seq,
                source_file="a.csv",
                row_number=seq + 1,
                lead_id=f"lead.{seq}",
                first_name=first,
                last_name=last,
                dob=dob,
                dob_raw=dob_raw,
                status=status,
                errors=errors,
            )
            for seq, (first, last, dob, dob_raw, status, errors) in enumerate(ROWS, start=1)
        ]
    )
    validated_at = datetime(2026, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)

    notices = {lead.pk: _notice(lead) for lead in leads}

    created = deliveries_schedule(
        batch_pk=batch.pk,
        batch_id=batch.batch_id,
        notices=list(notices.values()),
        validated_at=validated_at,
    )

    assert created == len(ROWS)
    deliveries = {d.lead_id: d for d in Delivery.objects.filter(batch=batch)}
    for lead in leads:
        delivery = deliveries[lead.pk]
        notice = notices[lead.pk]
        expected = build_payload(
            notice=notice,
            batch_id=batch.batch_id,
            validated_at=validated_at,
            scheduled_for=delivery.due_at,
        )
        assert delivery.payload == expected
        # Stored as the exact body that is signed and sent, whatever the database.
        assert _stored_text(delivery) == payload_bytes(expected).decode()
        assert re.fullmatch(r"msg_[0-9a-f]{32}", delivery.msg_id)
        assert delivery.lead_key == lead.lead_id
        assert delivery.created_at == validated_at
        assert delivery.next_attempt_at == delivery.due_at > validated_at


def _notice(lead: LeadValidation) -> LeadNotice:
    return LeadNotice(
        lead_pk=lead.pk,
        lead_id=lead.lead_id,
        first_name=lead.first_name,
        last_name=lead.last_name,
        dob=dob_text(lead.dob, lead.dob_raw),
        status=lead.status,
        errors=lead.errors,
        messages=[message_for(code) for code in lead.errors],
    )


@pytest.mark.django_db
def test_supplier_columns_given_as_json_text_arrive_as_an_object():
    batch = make_batch()
    lead = LeadValidation.objects.create(
        batch=batch, seq=1, source_file="a.csv", row_number=2, lead_id="lead.1"
    )
    given = {"Lead Source": "Fair «2026»", "Score": "7"}
    notices = [
        _notice(lead),
        LeadNotice(**{**_fields(_notice(lead)), "extra_json": json.dumps(given)}),
        LeadNotice(**{**_fields(_notice(lead)), "extra_json": "{}"}),
    ]

    deliveries_schedule(
        batch_pk=batch.pk, batch_id=batch.batch_id, notices=notices, validated_at=datetime.now(UTC)
    )

    extras = sorted(
        (d.payload["extra"] for d in Delivery.objects.filter(batch=batch)), key=lambda e: e is None
    )
    assert extras == [given, None, None]


def _fields(notice: LeadNotice) -> dict:
    return {name: getattr(notice, name) for name in LeadNotice.__dataclass_fields__}


def _stored_text(delivery: Delivery) -> str:
    return (
        Delivery.objects.filter(pk=delivery.pk)
        .annotate(text=Cast("payload", TextField()))
        .values_list("text", flat=True)
        .get()
    )
