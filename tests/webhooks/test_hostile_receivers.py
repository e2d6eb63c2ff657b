"""Hostile receivers: no answer can crash, stall or double-send (real loopback receiver)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.factories import make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.retry import MAX_ATTEMPTS
from webhooks.services import deliveries_sweep
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
