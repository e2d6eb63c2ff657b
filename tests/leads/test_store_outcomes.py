"""Outcomes written in bulk come back exactly as given, whatever characters they hold."""

from datetime import date

import pytest
from django.utils import timezone

from leads.models import LeadStatus, LeadValidation
from leads.services import LeadOutcome, leads_store_outcomes
from tests.webhooks.factories import make_batch

AWKWARD = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "José Núñez", ""]


@pytest.mark.django_db
def test_outcomes_round_trip_through_the_bulk_update():
    batch = make_batch()
    rows = LeadValidation.objects.bulk_create(
        [LeadValidation(batch=batch, seq=seq, row_number=seq + 2) for seq in range(len(AWKWARD))]
    )
    outcomes = [
        LeadOutcome(
            pk=row.pk,
            status=LeadStatus.INVALID if text else LeadStatus.VALID,
            errors=["email_invalid", "phone_invalid"] if text else [],
            first_name=text,
            last_name=text[::-1],
            dob=date(1990, 3, 15) if text else None,
            email=f"{text}@example.com",
            phone=text,
            company=text,
            duplicate_of_id=rows[0].pk if text else None,
        )
        for row, text in zip(rows, AWKWARD, strict=True)
    ]

    changed = leads_store_outcomes(outcomes=outcomes, validated_at=timezone.now())

    assert sorted(changed) == sorted(row.pk for row in rows)
    stored = {row.pk: row for row in LeadValidation.objects.filter(batch=batch)}
    for outcome in outcomes:
        row = stored[outcome.pk]
        assert (
            row.status,
            row.errors,
            row.first_name,
            row.last_name,
            row.dob,
            row.email,
            row.phone,
            row.company,
            row.duplicate_of_id,
        ) == (
            outcome.status,
            outcome.errors,
            outcome.first_name,
            outcome.last_name,
            outcome.dob,
            outcome.email,
            outcome.phone,
            outcome.company,
            outcome.duplicate_of_id,
        )
    # Only rows still pending are written: a second run changes nothing.
    assert leads_store_outcomes(outcomes=outcomes, validated_at=timezone.now()) == []
