"""Pacing a page: a limited endpoint keeps its rate without holding up the page's others,
and an operator's rate change takes hold within a second, mid-page."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Endpoint
from customers.services import customer_create, endpoint_create
from tests.receiver import Receiver
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliveries_sweep
from webhooks.services import pacing as pacing_module
from webhooks.services import sending as sending_module

pytestmark = pytest.mark.django_db


def interleaved(batch, endpoints, n):
    """n deliveries to each endpoint, claimed lead by lead, as fan-out schedules them."""
    due = timezone.now() - timedelta(seconds=1)
    made = {endpoint.pk: [] for endpoint in endpoints}
    for i in range(n):
        for endpoint in endpoints:
            [delivery] = make_deliveries(
                1, batch=batch, customer_endpoint=endpoint, due=due + timedelta(milliseconds=i)
            )
            made[endpoint.pk].append(delivery)
    return made


def test_a_limited_endpoint_keeps_its_rate_without_holding_up_the_others(loopback):
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as slow_rx, Receiver(secret=acme.secret) as fast_rx:
        slow = endpoint_create(customer=acme, url=slow_rx.url, rate_limit=4)
        fast = endpoint_create(customer=acme, url=fast_rx.url)
        made = interleaved(make_batch(customer=acme), [slow, fast], 6)

        assert deliveries_sweep()["delivered"] == 12  # one sender, one page

        assert slow_rx.wait_for(6, timeout=2) and fast_rx.wait_for(6, timeout=2)
    slow_times = [r.received_at for r in slow_rx.requests]
    fast_times = [r.received_at for r in fast_rx.requests]
    # Every fast one went out while the slow endpoint waited for its third slot (0.5 s in),
    # not one after each slow slot.
    assert fast_times[-1] < slow_times[2]
    assert slow_times[-1] - slow_times[0] >= 5 / 4 * 0.95
    # Each endpoint's deliveries in claim order, every one signed.
    for receiver, endpoint in ((slow_rx, slow), (fast_rx, fast)):
        assert [r.headers["webhook-id"] for r in receiver.requests] == [
            d.msg_id for d in made[endpoint.pk]
        ]
        assert all(r.verified for r in receiver.requests)


def test_a_page_left_waiting_for_a_limited_endpoint_claims_more_for_the_others(
    loopback, monkeypatch
):
    monkeypatch.setattr(sending_module, "PAGE_SIZE", 8)  # the work is many pages
    loopback.WEBHOOK_SWEEP_SECONDS = 15
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as slow_rx, Receiver(secret=acme.secret) as fast_rx:
        slow = endpoint_create(customer=acme, url=slow_rx.url, rate_limit=4)
        fast = endpoint_create(customer=acme, url=fast_rx.url)
        batch = make_batch(customer=acme)
        made = interleaved(batch, [slow, fast], 12)
        later = timezone.now() - timedelta(milliseconds=500)  # due after all of those
        made[fast.pk] += make_deliveries(48, batch=batch, customer_endpoint=fast, due=later)

        stats = deliveries_sweep()  # one sender

        assert (stats["delivered"], stats["claimed"]) == (72, 72)
        assert slow_rx.wait_for(12, timeout=2) and fast_rx.wait_for(60, timeout=2)
    slow_times = [r.received_at for r in slow_rx.requests]
    fast_times = [r.received_at for r in fast_rx.requests]
    # Pages of 8, half of them to the 4/s endpoint, each waiting for its slots, would hold
    # the last fast ones until its twelfth was in (2.75 s). Every one went out while the
    # slow endpoint waited for its fourth (0.75 s in), and it kept its rate.
    assert fast_times[-1] < slow_times[3]
    assert slow_times[-1] - slow_times[0] >= 11 / 4 * 0.95
    for receiver, endpoint in ((slow_rx, slow), (fast_rx, fast)):
        assert [r.headers["webhook-id"] for r in receiver.requests] == [
            d.msg_id for d in made[endpoint.pk]
        ]
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED, attempts=1).count() == 72


def test_a_rate_change_takes_hold_mid_page_within_a_second(loopback, monkeypatch):
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as receiver:
        endpoint = endpoint_create(customer=acme, url=receiver.url, rate_limit=1)
        make_deliveries(8, batch=make_batch(customer=acme), customer_endpoint=endpoint)
        read = pacing_module.endpoint_rate_limits
        reads = []

        def operator_lifts_the_limit_after_two(*, endpoint_pks):
            # The operator's change lands once two requests are in, mid-page.
            if receiver.request_count >= 2:
                Endpoint.objects.filter(pk__in=endpoint_pks).update(rate_limit=0)
            reads.append(set(endpoint_pks))
            return read(endpoint_pks=endpoint_pks)

        monkeypatch.setattr(
            pacing_module, "endpoint_rate_limits", operator_lifts_the_limit_after_two
        )
        started = time.monotonic()

        assert deliveries_sweep()["delivered"] == 8

        elapsed = time.monotonic() - started
        assert receiver.wait_for(8, timeout=2)
    # At 1/s the page would last 7 s. The change landed with the second request (1 s in):
    # it held once the rates were read again (a second after the last read) and the slot
    # already reserved at the old rate came; the rest went out at once.
    assert elapsed < 4.5, elapsed
    times = [r.received_at for r in receiver.requests]
    assert times[1] - times[0] >= 0.95
    assert times[2] - times[1] < 2.2
    assert times[-1] - times[2] < 0.5
    # Rates are re-read about once a second, not before every request.
    assert len(reads) <= 4
    assert [json.loads(r.body)["id"] for r in receiver.requests] == [
        f"josé.núñez{i}.15031990" for i in range(8)
    ]


def test_a_page_reads_the_rates_of_all_its_endpoints_in_one_query(loopback, monkeypatch):
    acme = customer_create(slug="acme", name="Acme").customer
    read = pacing_module.endpoint_rate_limits
    reads = []

    def counted(*, endpoint_pks):
        reads.append(set(endpoint_pks))
        return read(endpoint_pks=endpoint_pks)

    monkeypatch.setattr(pacing_module, "endpoint_rate_limits", counted)
    with Receiver(secret=acme.secret) as receiver:
        endpoints = [endpoint_create(customer=acme, url=receiver.url) for _ in range(3)]
        interleaved(make_batch(customer=acme), endpoints, 4)

        assert deliveries_sweep()["delivered"] == 12

    assert reads == [{endpoint.pk for endpoint in endpoints}]
