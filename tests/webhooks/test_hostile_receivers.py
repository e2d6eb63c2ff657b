"""Hostile receivers: no answer can crash, stall or double-send (real loopback receiver)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.receiver import Drip
from tests.webhooks.factories import make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.retry import MAX_ATTEMPTS
from webhooks.services import deliveries_sweep, sending_config
from webhooks.services.page import LEASE_MARGIN
from webhooks.transport import Transport

pytestmark = pytest.mark.django_db


def refreshed(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery


def ids_received(receiver) -> list[str]:
    return [r.headers["webhook-id"] for r in receiver.requests]


# -- Retry-After ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 503])
@pytest.mark.parametrize("retry_after", ["1" + "0" * 400, "9" * 5000])
def test_insane_retry_after_neither_stalls_the_delivery_nor_the_page(
    sending, receiver, status, retry_after
):
    deliveries = make_deliveries(5)
    poisoned = deliveries[0].msg_id
    receiver.set_responder(
        lambda request: (
            (status, {"Retry-After": retry_after}, b"")
            if request.headers["webhook-id"] == poisoned
            else (204, {}, b"")
        )
    )

    stats = deliveries_sweep()

    assert stats["claimed"] == 5
    assert ids_received(receiver).count(poisoned) == 1
    assert sorted(ids_received(receiver)) == sorted(d.msg_id for d in deliveries)
    first = refreshed(deliveries[0])
    if status == 200:
        assert first.status == DeliveryStatus.DELIVERED
    else:
        assert first.status == DeliveryStatus.RETRYING
        # The header is ignored: the schedule's 60 s (+25 % jitter at most) applies.
        wait = (first.next_attempt_at - timezone.now()).total_seconds()
        assert 50 <= wait <= 76
    assert all(refreshed(d).status == DeliveryStatus.DELIVERED for d in deliveries[1:])
    assert not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()


def test_retry_after_over_24_hours_waits_24_hours(sending, receiver):
    receiver.set_responder(lambda request: (503, {"Retry-After": "9999999999"}, b""))
    [delivery] = make_deliveries(1)

    deliveries_sweep()

    wait = refreshed(delivery).next_attempt_at - timezone.now()
    assert timedelta(hours=23, minutes=59) <= wait <= timedelta(hours=24)


# -- unexpected errors and the attempt counter -----------------------------------------


def fail_posts_to(monkeypatch, msg_id: str) -> None:
    """Make the transport raise something nothing anticipated for one webhook-id."""
    real_post = Transport.post

    def post(self, url, *, body, headers):
        if headers["webhook-id"] == msg_id:
            raise RuntimeError("boom in the middle of a send")
        return real_post(self, url, body=body, headers=headers)

    monkeypatch.setattr(Transport, "post", post)


def test_unexpected_error_is_one_failed_attempt_and_the_page_goes_on(
    sending, receiver, monkeypatch
):
    deliveries = make_deliveries(5)
    fail_posts_to(monkeypatch, deliveries[1].msg_id)

    stats = deliveries_sweep()

    assert (stats["delivered"], stats["retrying"]) == (4, 1)
    broken = refreshed(deliveries[1])
    assert (broken.status, broken.attempts) == (DeliveryStatus.RETRYING, 1)
    assert "RuntimeError: boom" in broken.last_error
    assert broken.next_attempt_at > timezone.now() + timedelta(seconds=50)  # the schedule
    assert "RuntimeError" in broken.attempt_log.get().error
    assert deliveries[1].msg_id not in ids_received(receiver)
    assert len(ids_received(receiver)) == 4


def test_unexpected_error_at_the_last_attempt_fails_the_delivery(sending, receiver, monkeypatch):
    [delivery] = make_deliveries(1, status=DeliveryStatus.RETRYING, attempts=2)
    fail_posts_to(monkeypatch, delivery.msg_id)

    deliveries_sweep()

    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)


def test_attempts_at_the_column_limit_do_not_overflow_or_send(sending, receiver):
    stuck = make_deliveries(1, status=DeliveryStatus.RETRYING, attempts=32_767)
    healthy = make_deliveries(2)

    stats = deliveries_sweep()

    assert stats["delivered"] == 2
    delivery = refreshed(stuck[0])
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 32_767)
    assert "Gave up" in delivery.last_error
    assert sorted(ids_received(receiver)) == sorted(d.msg_id for d in healthy)


def test_delivery_claimed_past_max_attempts_fails_without_a_request(sending, receiver):
    sending.WEBHOOK_RETRY_SCHEDULE = ",".join(["1"] * 500)  # the schedule alone would go on
    [delivery] = make_deliveries(1, status=DeliveryStatus.RETRYING, attempts=MAX_ATTEMPTS)

    deliveries_sweep()

    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS + 1)
    assert "Gave up" in delivery.last_error
    assert receiver.request_count == 0


def test_last_allowed_attempt_fails_whatever_the_schedule(sending, receiver):
    sending.WEBHOOK_RETRY_SCHEDULE = ",".join(["1"] * 500)
    receiver.set_responder(lambda request: (503, {}, b""))
    [delivery] = make_deliveries(1, status=DeliveryStatus.RETRYING, attempts=MAX_ATTEMPTS - 1)

    deliveries_sweep()

    delivery = refreshed(delivery)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert receiver.request_count == 1


# -- a receiver that answers a byte at a time ------------------------------------------

# Each byte arrives well inside urllib3's read timeout, and the head never ends.
DRIPPED_HEAD = Drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 60, every=0.15)  # 9 s in all
TIMEOUT = 1.0
SLACK = 0.6  # what the whole request may take past WEBHOOK_TIMEOUT


def test_dripping_receiver_is_cut_at_the_timeout_by_the_wall_clock(sending, receiver):
    sending.WEBHOOK_TIMEOUT = TIMEOUT
    receiver.set_responder(lambda request: DRIPPED_HEAD)
    [delivery] = make_deliveries(1)

    started = time.monotonic()
    deliveries_sweep()
    took = time.monotonic() - started

    assert took < TIMEOUT + SLACK + 0.5  # the sweep's own queries included
    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert "timed out" in attempt.error.lower()
    assert TIMEOUT * 1000 <= attempt.duration_ms < (TIMEOUT + SLACK) * 1000
    # The lease was never at risk: the attempt ended well inside it.
    assert took < sending_config().lease_seconds - 2
    assert ids_received(receiver) == [delivery.msg_id]
    assert deliveries_sweep()["claimed"] == 0  # retried on the schedule, not at lease expiry


@pytest.mark.parametrize(
    "drip",
    [
        Drip(b"HTTP/1.1 100 Continue\r\n\r\n" * 200, every=0.02, step=25),  # interim, forever
        Drip(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 90\r\n\r\n" + b"x" * 90, 0.1),
    ],
    ids=["endless-100-continue", "dripping-body"],
)
def test_endless_or_dripping_answer_is_cut_at_the_timeout(sending, receiver, drip):
    sending.WEBHOOK_TIMEOUT = TIMEOUT
    receiver.set_responder(lambda request: drip)
    [delivery] = make_deliveries(1)

    deliveries_sweep()

    delivery = refreshed(delivery)
    assert delivery.status == DeliveryStatus.RETRYING
    attempt = delivery.attempt_log.get()
    assert "timed out" in attempt.error.lower()
    assert attempt.duration_ms < (TIMEOUT + SLACK) * 1000


def test_2xx_whose_body_drips_is_delivered_within_the_timeout(sending, receiver):
    sending.WEBHOOK_TIMEOUT = TIMEOUT
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 90\r\n\r\n"
    receiver.set_responder(lambda request: Drip(head + b"x" * 90, every=0.1, step=len(head)))
    [delivery] = make_deliveries(1)

    started = time.monotonic()
    deliveries_sweep()

    assert time.monotonic() - started < TIMEOUT + SLACK + 0.5
    assert refreshed(delivery).status == DeliveryStatus.DELIVERED  # the status line answered


@pytest.mark.django_db(transaction=True)
def test_dripping_receiver_never_gets_one_webhook_id_on_two_connections(sending, receiver):
    if connection.vendor != "postgresql":
        pytest.skip("senders side by side need a database server (PostgreSQL)")
    sending.WEBHOOK_TIMEOUT = TIMEOUT
    sending.WEBHOOK_LEASE_SECONDS = 1  # senders lease for the shortest time they may
    receiver.set_responder(lambda request: DRIPPED_HEAD)
    [delivery] = make_deliveries(1)

    def first_sender():
        try:
            deliveries_sweep()
        finally:
            connections.close_all()

    first = threading.Thread(target=first_sender)
    first.start()
    # A second sender sweeps every 0.3 s while the first is busy, and once after.
    while first.is_alive():
        first.join(timeout=0.3)
        deliveries_sweep()

    assert ids_received(receiver) == [delivery.msg_id]
    assert receiver.connections_accepted == 1
    assert refreshed(delivery).status == DeliveryStatus.RETRYING


@pytest.mark.parametrize(("timeout", "lease"), [(1, 1), (2, 8), (30, 80), (50, 80), (300, 80)])
def test_lease_always_outlasts_a_request_in_flight(sending, timeout, lease):
    sending.WEBHOOK_TIMEOUT = timeout
    sending.WEBHOOK_LEASE_SECONDS = lease

    config = sending_config()

    # A send starts with the timeout plus the margin left, never more than half a lease.
    assert config.lease_seconds / 2 >= timeout + LEASE_MARGIN
    assert config.lease_seconds >= lease
