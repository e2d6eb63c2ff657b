"""Webhook reads: delivery counts, the status groups they are read with, lead summaries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import OuterRef

from leads.models import LeadValidation
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import DUE_STATUSES, FINAL_STATUSES, OPEN_STATUSES, DeliveryStatus
from webhooks.selectors import LEAD_STATUS_ORDER, delivery_status_counts, lead_webhook_summary


def test_every_status_is_either_open_or_final_and_due_ones_are_open():
    assert set(OPEN_STATUSES) | set(FINAL_STATUSES) == set(DeliveryStatus.values)
    assert not set(OPEN_STATUSES) & set(FINAL_STATUSES)
    assert set(DUE_STATUSES) == set(OPEN_STATUSES) - {DeliveryStatus.SENDING}


@pytest.mark.django_db
def test_delivery_status_counts_name_every_status_and_keep_to_the_batch():
    batch = make_batch()
    make_deliveries(2, batch=batch, status=DeliveryStatus.DELIVERED)
    make_deliveries(1, batch=batch, status=DeliveryStatus.FAILED)
    make_deliveries(3, status=DeliveryStatus.SCHEDULED)  # another batch

    counts = delivery_status_counts(batch_pk=batch.pk)

    assert counts == dict.fromkeys(DeliveryStatus.values, 0) | {
        DeliveryStatus.DELIVERED: 2,
        DeliveryStatus.FAILED: 1,
    }
    assert delivery_status_counts()[DeliveryStatus.SCHEDULED] == 3


# --- one lead's deliveries summed up (fan-out, re-sends) -----------------------------------------

DUE = datetime(2026, 1, 16, 10, 30, tzinfo=UTC)


@pytest.fixture
def lead(db):
    return LeadValidation.objects.create(
        batch=make_batch(), seq=1, source_file="crm.csv", row_number=2
    )


def deliver(lead, status, *, due=DUE, **fields):
    (delivery,) = make_deliveries(1, batch=lead.batch, status=status, due=due, lead=lead, **fields)
    return delivery


def summary(lead) -> dict:
    return (
        LeadValidation.objects.filter(pk=lead.pk)
        .annotate(**lead_webhook_summary(lead=OuterRef("pk")))
        .values("webhook_status", "webhook_scheduled_for", "webhook_sent_at", "webhook_attempts")
        .get()
    )


def test_lead_status_order_is_the_settled_one_and_places_every_delivery_status():
    assert LEAD_STATUS_ORDER == (
        "failed", "rejected", "retrying", "sending", "scheduled", "delivered", "cancelled"
    )  # fmt: skip
    assert set(DeliveryStatus.values) <= set(LEAD_STATUS_ORDER)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("delivered", "failed"), "failed"),
        (("rejected", "failed"), "failed"),
        (("retrying", "rejected"), "rejected"),
        (("delivered", "rejected"), "rejected"),
        (("retrying", "failed"), "failed"),
        (("scheduled", "retrying"), "retrying"),
        (("scheduled", "sending"), "sending"),
        (("delivered", "scheduled"), "scheduled"),
        (("cancelled", "delivered"), "delivered"),
        (("cancelled", "cancelled"), "cancelled"),
    ],
)
def test_lead_webhook_status_is_the_first_in_order_any_delivery_has(lead, statuses, expected):
    for status in statuses:
        deliver(lead, status)

    assert summary(lead)["webhook_status"] == expected


def test_lead_sent_at_is_the_last_delivery_once_all_are_delivered(lead):
    deliver(lead, DeliveryStatus.DELIVERED, delivered_at=DUE + timedelta(minutes=5))
    deliver(lead, DeliveryStatus.DELIVERED, delivered_at=DUE + timedelta(minutes=1))

    assert summary(lead)["webhook_sent_at"] == DUE + timedelta(minutes=5)


def test_lead_sent_at_is_empty_while_one_delivery_is_not_delivered(lead):
    deliver(lead, DeliveryStatus.DELIVERED, delivered_at=DUE)
    deliver(lead, DeliveryStatus.RETRYING)

    assert summary(lead)["webhook_sent_at"] is None


def test_lead_scheduled_for_is_the_earliest_due_time(lead):
    deliver(lead, DeliveryStatus.SCHEDULED, due=DUE)
    deliver(lead, DeliveryStatus.DELIVERED, due=DUE - timedelta(hours=2), delivered_at=DUE)

    assert summary(lead)["webhook_scheduled_for"] == DUE - timedelta(hours=2)


def test_lead_attempts_are_the_sum_of_its_deliveries(lead):
    deliver(lead, DeliveryStatus.FAILED, attempts=7)
    deliver(lead, DeliveryStatus.DELIVERED, attempts=2, delivered_at=DUE)

    assert summary(lead)["webhook_attempts"] == 9


def test_attempts_made_before_an_endpoint_was_disabled_still_count(lead):
    from customers.models import Endpoint
    from customers.services import customer_create
    from webhooks.services.binding import deliveries_rewait_endpoint

    acme = customer_create(slug="acme", name="Acme").customer
    dark = Endpoint.objects.create(customer=acme, url="https://dark.example.com/hook")
    retrying = deliver(lead, DeliveryStatus.RETRYING, attempts=3, customer_endpoint=dark)
    deliver(lead, DeliveryStatus.DELIVERED, attempts=1, delivered_at=DUE)

    assert deliveries_rewait_endpoint(endpoint_pk=dark.pk) == 1
    retrying.refresh_from_db()
    # Its retries start again once the endpoint is re-enabled; the lead's count goes on.
    assert (retrying.attempts, retrying.earlier_attempts) == (0, 3)
    assert summary(lead)["webhook_attempts"] == 4
    # Re-enabled, it failed twice more, and the endpoint was disabled again.
    type(retrying).objects.filter(pk=retrying.pk).update(status=DeliveryStatus.RETRYING, attempts=2)
    assert deliveries_rewait_endpoint(endpoint_pk=dark.pk) == 1
    retrying.refresh_from_db()
    assert (retrying.attempts, retrying.earlier_attempts) == (0, 5)
    assert summary(lead)["webhook_attempts"] == 6


def test_a_resend_replaces_its_original_but_its_attempts_still_count(lead):
    original = deliver(lead, DeliveryStatus.FAILED, attempts=7)
    delivered_at = DUE + timedelta(days=1)
    deliver(
        lead,
        DeliveryStatus.DELIVERED,
        due=DUE + timedelta(days=1),
        attempts=1,
        delivered_at=delivered_at,
        resend_of=original,
    )

    assert summary(lead) == {
        "webhook_status": "delivered",
        "webhook_scheduled_for": DUE + timedelta(days=1),
        "webhook_sent_at": delivered_at,
        "webhook_attempts": 8,
    }


def test_lead_without_deliveries_has_no_webhook_status_and_no_attempts(lead):
    assert summary(lead) == {
        "webhook_status": None,
        "webhook_scheduled_for": None,
        "webhook_sent_at": None,
        "webhook_attempts": 0,
    }


def test_lead_summary_counts_only_that_leads_deliveries(lead):
    other = LeadValidation.objects.create(
        batch=lead.batch, seq=2, source_file="crm.csv", row_number=3
    )
    deliver(other, DeliveryStatus.FAILED, attempts=4)
    deliver(lead, DeliveryStatus.DELIVERED, attempts=1, delivered_at=DUE)

    assert (summary(lead)["webhook_status"], summary(lead)["webhook_attempts"]) == ("delivered", 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("read", "index"),
    [
        # A sender reads this every page when a customer has a daily cap.
        ("delivered_since", "delivery_delivered_at_idx"),
        ("dashboard", "delivery_ended_idx"),
        ("batch_counts", "delivery_batch_idx"),
    ],
)
def test_delivery_reads_use_their_index_not_the_whole_table(read, index):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from batches.dashboard import dashboard_figures
    from webhooks.selectors import delivered_since_by_customer

    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    now = datetime.now(UTC)
    # The table as it grows: many deliveries of other batches, delivered long ago.
    make_deliveries(3000, status=DeliveryStatus.DELIVERED, delivered_at=now - timedelta(days=9))
    batch = make_batch()
    make_deliveries(3, batch=batch, status=DeliveryStatus.DELIVERED, delivered_at=now)
    make_deliveries(2, batch=batch, status=DeliveryStatus.FAILED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE webhooks_delivery")
    reads = {
        "delivered_since": lambda: delivered_since_by_customer(now - timedelta(hours=1)),
        "dashboard": lambda: dashboard_figures(user=None),
        "batch_counts": lambda: delivery_status_counts(batch_pk=batch.pk),
    }
    with CaptureQueriesContext(connection) as captured:
        reads[read]()
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if "webhooks_delivery" in query["sql"]:
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(line for (line,) in cursor.fetchall()))
    assert any(index in plan for plan in plans), plans
    assert not any("Seq Scan on webhooks_delivery" in plan for plan in plans), plans
