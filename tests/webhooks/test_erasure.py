"""Erasure in the outbox: payloads, lead keys and excerpts blanked; open deliveries cancelled."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.factories import make_deliveries, rejection_quoting_the_lead
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from webhooks.payloads import blank_payload
from webhooks.services import deliveries_erase_person, deliveries_erasure_counts

pytestmark = pytest.mark.django_db


def attempt(delivery: Delivery, excerpt: str) -> DeliveryAttempt:
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        endpoint="https://crm.example/hook",
        started_at=timezone.now(),
        status_code=409,
        response_excerpt=excerpt,
    )


def test_blank_payload_nulls_the_person_and_keeps_the_rest():
    payload = {
        "id": "jose.nunez.15031990",
        "first_name": "José",
        "last_name": "Núñez",
        "dob": "15/03/1990",
        "email": "jose@example.com",
        "postcode": "SW1A 1AA",
        "validation_status": "valid",
        "batch_id": "batch_1",
    }

    assert blank_payload(payload) == {
        "id": None,
        "first_name": None,
        "last_name": None,
        "dob": None,
        "email": None,
        "postcode": None,
        "validation_status": "valid",
        "batch_id": "batch_1",
    }


def test_erase_blanks_payload_lead_key_and_excerpts_by_lead_key():
    delivery, other = make_deliveries(2, status=DeliveryStatus.DELIVERED)
    attempt(delivery, "duplicate of José Núñez0")
    kept = attempt(other, "ok")

    erased = deliveries_erase_person(lead_pks=[], lead_keys=[delivery.lead_key])

    delivery.refresh_from_db()
    assert delivery.payload["first_name"] is None and delivery.payload["id"] is None
    assert delivery.payload["validation_status"] == "valid"
    assert delivery.lead_key == ""
    assert delivery.status == DeliveryStatus.DELIVERED
    assert DeliveryAttempt.objects.get(delivery=delivery).response_excerpt == ""
    kept.refresh_from_db()
    assert kept.response_excerpt == "ok"
    assert Delivery.objects.get(pk=other.pk).payload["first_name"] == "José"
    assert Delivery.objects.get(pk=other.pk).lead_key == "jose.nunez1.15031990"
    assert (erased.deliveries, erased.cancelled, erased.attempts) == (1, 0, 1)


def test_erase_cancels_open_deliveries_those_claimed_included():
    scheduled, claimed = make_deliveries(2)
    Delivery.objects.filter(pk=claimed.pk).update(
        status=DeliveryStatus.SENDING,
        lease_token=uuid.uuid4(),
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    erased = deliveries_erase_person(lead_pks=[], lead_keys=[claimed.lead_key, scheduled.lead_key])

    for delivery in (claimed, scheduled):
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.CANCELLED
        assert delivery.lease_expires_at is None  # no live lease: its sender sends no more
    assert erased.cancelled == 2


def test_erase_run_twice_changes_nothing_more():
    delivery = make_deliveries(1, status=DeliveryStatus.FAILED)[0]
    deliveries_erase_person(lead_pks=[], lead_keys=[delivery.lead_key])

    again = deliveries_erase_person(lead_pks=[delivery.lead_id or 0], lead_keys=[])

    assert (again.deliveries, again.cancelled, again.attempts) == (0, 0, 0)


def test_counts_say_what_erasing_would_change_and_change_nothing():
    delivery = make_deliveries(1)[0]
    attempt(delivery, "busy")
    deliveries = Delivery.objects.filter(pk=delivery.pk)

    counted = deliveries_erasure_counts(deliveries=deliveries)

    assert (counted.deliveries, counted.cancelled, counted.attempts) == (1, 1, 1)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SCHEDULED and delivery.lead_key


def test_erase_takes_the_person_out_of_a_receivers_rejection_reason():
    delivery, other = make_deliveries(2, status=DeliveryStatus.REJECTED)
    payload = {**delivery.payload, "email": "jose@example.com", "extra": {"Notes": "VIP"}}
    Delivery.objects.filter(pk=delivery.pk).update(
        payload=payload,
        rejected_reason=(
            f"Duplicate in CRM: JOSE@example.com ({delivery.lead_key}, "
            f"{payload['first_name']}) already exists; vip"
        ),
    )
    Delivery.objects.filter(pk=other.pk).update(rejected_reason="already bought")

    deliveries_erase_person(lead_pks=[], lead_keys=[delivery.lead_key, other.lead_key])

    assert Delivery.objects.get(pk=delivery.pk).rejected_reason == (
        "Duplicate in CRM: [erased] ([erased], [erased]) already exists; [erased]"
    )
    assert Delivery.objects.get(pk=other.pk).rejected_reason == "already bought"


def test_an_answer_recorded_after_the_erasure_is_blanked_too():
    from webhooks.services.outcomes import deliveries_record_outcomes

    token = uuid.uuid4()
    on_wire, other = make_deliveries(2)
    Delivery.objects.filter(pk__in=[on_wire.pk, other.pk]).update(
        status=DeliveryStatus.SENDING,
        lease_token=token,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
        attempts=1,
    )
    # The person is erased while the request is on the wire; the receiver answers after.
    deliveries_erase_person(lead_pks=[], lead_keys=[on_wire.lead_key])

    deliveries_record_outcomes(
        token=token,
        outcomes=[rejection_quoting_the_lead(delivery) for delivery in (on_wire, other)],
    )

    erased, kept = (DeliveryAttempt.objects.get(delivery=d) for d in (on_wire, other))
    assert (
        erased.response_excerpt == "" and Delivery.objects.get(pk=on_wire.pk).rejected_reason == ""
    )
    assert other.lead_key in kept.response_excerpt
    assert Delivery.objects.get(pk=other.pk).rejected_reason == f"{other.lead_key} already exists"
