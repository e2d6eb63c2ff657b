"""Hostile receivers: no answer can crash, stall or double-send (real loopback receiver)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.factories import make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliveries_sweep

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
