"""An endpoint that hangs costs one timeout, not one per delivery: its deliveries wait for a
probe and every other endpoint's go out meanwhile (real loopback receivers)."""

import asyncio
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer, Endpoint
from customers.services import customer_create, endpoint_create, environment_apply
from tests.receiver import Drip, Receiver
from tests.webhooks.factories import SECRET, make_batch, make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliveries_sweep
from webhooks.services.holds import HOLD_MAX_SECONDS
from webhooks.services.page import LEASE_MARGIN

pytestmark = pytest.mark.django_db

PROBE_TIME = timedelta(seconds=0.5 + LEASE_MARGIN)  # the timeout below, and the margin


@pytest.fixture
def loopback(loopback):
    loopback.WEBHOOK_TIMEOUT = 0.5
    return loopback


async def hang(request):
    await asyncio.sleep(3)  # far past the timeout
    return 204, {}, b""


@contextmanager
def slow_and_fast(responder):
    """Customer acme's endpoint answers with `responder`; beta's answers at once. acme's
    deliveries are older, so every page is claimed with them first."""
    acme = customer_create(slug="acme", name="Acme").customer
    beta = customer_create(slug="beta", name="Beta").customer
    with (
        Receiver(secret=acme.secret, responder=responder) as slow_rx,
        Receiver(secret=beta.secret) as fast_rx,
    ):
        slow = endpoint_create(customer=acme, url=slow_rx.url)
        fast = endpoint_create(customer=beta, url=fast_rx.url)
        due = timezone.now() - timedelta(minutes=1)
        stuck = make_deliveries(
            10, batch=make_batch(customer=acme), customer_endpoint=slow, due=due
        )
        flowing = make_deliveries(10, batch=make_batch(customer=beta), customer_endpoint=fast)
        yield slow, slow_rx, stuck, fast_rx, flowing


@pytest.fixture
def hung_and_fast(loopback):
    with slow_and_fast(hang) as endpoints:
        yield endpoints


def test_a_hung_endpoint_costs_one_timeout_and_the_others_go_out(hung_and_fast):
    hung, hung_rx, _, fast_rx, _ = hung_and_fast

    stats = deliveries_sweep()

    assert hung_rx.request_count == 1  # one probe, not one timeout per delivery
    assert fast_rx.wait_for(10, timeout=2)
    assert stats["delivered"] == 10 and stats["retrying"] == 1
    probed = Delivery.objects.get(customer_endpoint=hung, status=DeliveryStatus.RETRYING)
    assert probed.attempts == 1
    waiting = Delivery.objects.filter(customer_endpoint=hung).exclude(pk=probed.pk)
    assert waiting.count() == 9
    # They wait, with no attempt used, until the probe's retry has had a request's time:
    # it goes first and alone, and tells whether they may.
    assert {(d.status, d.attempts) for d in waiting} == {(DeliveryStatus.SCHEDULED, 0)}
    assert {d.next_attempt_at for d in waiting} == {probed.next_attempt_at + PROBE_TIME}
    assert probed.next_attempt_at > timezone.now() + timedelta(seconds=50)


def test_the_endpoints_deliveries_outside_the_page_wait_too(hung_and_fast):
    hung, hung_rx, _, _, _ = hung_and_fast
    due_soon = timezone.now() + timedelta(seconds=20)
    [later] = make_deliveries(1, batch=make_batch(), customer_endpoint=hung, due=due_soon)
    token = uuid.uuid4()  # another sender's claim: never touched but by its holder
    [claimed] = make_deliveries(
        1,
        batch=make_batch(),
        customer_endpoint=hung,
        status=DeliveryStatus.SENDING,
        lease_token=token,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
        attempts=1,
        due=timezone.now() + timedelta(hours=1),
    )

    deliveries_sweep()

    probed = Delivery.objects.get(customer_endpoint=hung, status=DeliveryStatus.RETRYING)
    later.refresh_from_db()
    claimed.refresh_from_db()
    assert later.next_attempt_at == probed.next_attempt_at + PROBE_TIME and later.attempts == 0
    assert (claimed.status, claimed.lease_token) == (DeliveryStatus.SENDING, token)
    assert hung_rx.request_count == 1


@pytest.mark.parametrize(
    ("failing_for", "waits_at_least", "waits_at_most"),
    [
        (timedelta(minutes=10), 595, 610),  # as long again as it has failed
        (timedelta(hours=2), HOLD_MAX_SECONDS - 5, HOLD_MAX_SECONDS + 10),  # capped
    ],
)
def test_the_longer_an_endpoint_fails_the_longer_its_deliveries_wait(
    hung_and_fast, failing_for, waits_at_least, waits_at_most
):
    hung = hung_and_fast[0]
    Endpoint.objects.filter(pk=hung.pk).update(failing_since=timezone.now() - failing_for)

    deliveries_sweep()

    waiting = Delivery.objects.filter(customer_endpoint=hung, status=DeliveryStatus.SCHEDULED)
    waits = {(d.next_attempt_at - timezone.now()).total_seconds() for d in waiting}
    assert len(waiting) == 9
    assert all(waits_at_least <= w <= waits_at_most for w in waits)


def test_a_fast_failure_holds_nothing(loopback):
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret, responder=lambda request: (503, {}, b"")) as rx:
        endpoint = endpoint_create(customer=acme, url=rx.url)
        make_deliveries(5, batch=make_batch(customer=acme), customer_endpoint=endpoint)

        stats = deliveries_sweep()

    assert rx.request_count == 5 and stats["retrying"] == 5  # each its own attempt, as before


def test_a_batch_url_and_webhook_url_that_hang_are_held_alike(loopback):
    loopback.WEBHOOK_SECRET = SECRET
    with (
        Receiver(secret=SECRET, responder=hang) as own_rx,
        Receiver(secret=SECRET, responder=hang) as env_rx,
    ):
        loopback.WEBHOOK_URL = env_rx.url
        own = make_deliveries(4, batch=make_batch(webhook_url=own_rx.url))
        env = make_deliveries(4, batch=make_batch())
        elsewhere = make_deliveries(2, batch=make_batch(webhook_url="http://127.0.0.1:9/hook"))

        deliveries_sweep()

        assert (own_rx.request_count, env_rx.request_count) == (1, 1)
    for route in (own, env):
        states = sorted(
            (d.status, d.attempts) for d in Delivery.objects.filter(pk__in=[d.pk for d in route])
        )
        assert states == [("retrying", 1)] + [("scheduled", 0)] * 3
    # Another batch's URL is not held with them (it refuses at once: each tried and retried).
    assert {d.attempts for d in Delivery.objects.filter(pk__in=[d.pk for d in elsewhere])} == {1}


def test_every_route_to_the_hung_url_waits_and_only_there(loopback):
    """By where the request goes: WEBHOOK_URL's endpoint and the default customer's unbound
    deliveries alike, every batch sending to one URL of its own, and nothing else."""
    loopback.WEBHOOK_SECRET = SECRET
    with Receiver(secret=SECRET, responder=hang) as env_rx, Receiver(secret=SECRET) as ok_rx:
        loopback.WEBHOOK_URL = env_rx.url
        environment_apply()
        env = Endpoint.objects.get(url=env_rx.url)
        soon = timezone.now() + timedelta(seconds=20)  # not claimed by the sweep below
        [probe] = make_deliveries(1, batch=make_batch(), customer_endpoint=env)
        bound = make_deliveries(2, batch=make_batch(), customer_endpoint=env, due=soon)
        unbound = make_deliveries(2, batch=make_batch(), due=soon)
        shared = make_deliveries(2, batch=make_batch(webhook_url=env_rx.url), due=soon)
        other = make_deliveries(2, batch=make_batch(webhook_url=ok_rx.url), due=soon)
        acme = customer_create(slug="acme", name="Acme").customer  # no endpoint: waits
        not_sent_there = make_deliveries(2, batch=make_batch(customer=acme), due=soon)

        deliveries_sweep()

    probe.refresh_from_db()
    held = Delivery.objects.filter(pk__in=[d.pk for d in bound + unbound + shared])
    assert {d.next_attempt_at for d in held} == {probe.next_attempt_at + PROBE_TIME}
    left = Delivery.objects.filter(pk__in=[d.pk for d in other + not_sent_there])
    assert all(abs((d.next_attempt_at - soon).total_seconds()) < 0.01 for d in left)


def test_a_long_retry_after_holds_only_the_probe(loopback):
    acme = customer_create(slug="acme", name="Acme").customer

    async def slow_503(request):
        await asyncio.sleep(0.3)  # over half the timeout
        return 503, {"Retry-After": "86400"}, b""

    with Receiver(secret=acme.secret, responder=slow_503) as rx:
        endpoint = endpoint_create(customer=acme, url=rx.url)
        make_deliveries(3, batch=make_batch(customer=acme), customer_endpoint=endpoint)

        deliveries_sweep()

    probe = Delivery.objects.get(status=DeliveryStatus.RETRYING)
    assert probe.next_attempt_at > timezone.now() + timedelta(hours=23)  # as it asked
    waiting = Delivery.objects.filter(status=DeliveryStatus.SCHEDULED)
    assert waiting.count() == 2 and rx.request_count == 1
    limit = timezone.now() + timedelta(seconds=HOLD_MAX_SECONDS) + PROBE_TIME
    assert all(d.next_attempt_at <= limit for d in waiting)


def test_a_fault_while_holding_never_stops_the_page(hung_and_fast, monkeypatch):
    fast_rx = hung_and_fast[3]

    def broken(**kwargs):
        raise RuntimeError("deadlock detected")

    monkeypatch.setattr("webhooks.services.page.route_hold", broken)

    stats = deliveries_sweep()

    assert fast_rx.wait_for(10, timeout=2) and stats["delivered"] == 10
    assert not Delivery.objects.filter(status=DeliveryStatus.SENDING).exists()


SLOW_TIMEOUT = 2.0  # room for a slow answer (over half of it) to stay under it when busy
SLOW_PROBE = timedelta(seconds=SLOW_TIMEOUT + LEASE_MARGIN)


async def slow_200(request):
    await asyncio.sleep(1.2)  # over half the timeout, then a good answer
    return 200, {}, b""


# A good answer written a byte at a time: about 1.2 s in all, within the timeout.
DRIPPED = Drip(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n" + b"x" * 8, every=0.026)


@pytest.mark.parametrize("responder", [slow_200, lambda request: DRIPPED], ids=["slow", "dripped"])
def test_a_slow_answer_holds_that_endpoint_while_others_wait(loopback, responder):
    loopback.WEBHOOK_TIMEOUT = SLOW_TIMEOUT
    with slow_and_fast(responder) as (slow, slow_rx, _, fast_rx, _):
        started = timezone.now()
        stats = deliveries_sweep()

        assert fast_rx.wait_for(10, timeout=2)
        assert slow_rx.request_count == 1
    assert stats["delivered"] == 11
    answered = Delivery.objects.get(customer_endpoint=slow, status=DeliveryStatus.DELIVERED)
    waiting = Delivery.objects.filter(customer_endpoint=slow).exclude(pk=answered.pk)
    assert {(d.status, d.attempts) for d in waiting} == {(DeliveryStatus.SCHEDULED, 0)}
    # As long as the answer took (1.2 s or more) and a request's time more: then they go on.
    waits = {d.next_attempt_at - started for d in waiting}
    assert len(waits) == 1
    assert SLOW_PROBE + timedelta(seconds=1.2) < waits.pop() < SLOW_PROBE + timedelta(seconds=5)


def test_a_slow_answer_claims_the_others_waiting_outside_the_page(loopback, monkeypatch):
    monkeypatch.setattr("webhooks.services.sending.PAGE_SIZE", 3)  # a page of acme's only
    loopback.WEBHOOK_TIMEOUT = SLOW_TIMEOUT
    with slow_and_fast(slow_200) as (slow, slow_rx, _, fast_rx, _):
        stats = deliveries_sweep()

        assert fast_rx.wait_for(10, timeout=2)
        assert slow_rx.request_count == 1
    assert stats["delivered"] == 11
    assert Delivery.objects.filter(customer_endpoint=slow, attempts=0).count() == 9


@pytest.mark.parametrize(
    "elsewhere",
    ["no-endpoint", "disabled", "outside-window", "inactive"],
)
def test_a_slow_endpoint_keeping_nobody_waiting_is_sent_to_one_after_another(loopback, elsewhere):
    """Others' deliveries that cannot go out keep nobody waiting."""
    loopback.WEBHOOK_TIMEOUT = 0.5

    async def slow(request):
        await asyncio.sleep(0.3)
        return 200, {}, b""

    acme = customer_create(slug="acme", name="Acme").customer
    beta = customer_create(slug="beta", name="Beta").customer
    with Receiver(secret=acme.secret, responder=slow) as rx:
        endpoint = endpoint_create(customer=acme, url=rx.url)
        make_deliveries(4, batch=make_batch(customer=acme), customer_endpoint=endpoint)
        due = timezone.now() - timedelta(minutes=1)  # older than acme's: claimed first
        if elsewhere == "no-endpoint":
            make_deliveries(2, batch=make_batch(customer=beta), due=due)
        else:
            other = endpoint_create(customer=beta, url="http://127.0.0.1:9/beta")
            make_deliveries(2, batch=make_batch(customer=beta), customer_endpoint=other, due=due)
            if elsewhere == "disabled":
                Endpoint.objects.filter(pk=other.pk).update(is_enabled=False)
            elif elsewhere == "outside-window":
                closed = (timezone.localtime() + timedelta(hours=2)).strftime("%H:00")
                Customer.objects.filter(pk=beta.pk).update(
                    delivery_window=f"{closed}-{closed[:2]}:01"
                )
            else:
                Customer.objects.filter(pk=beta.pk).update(is_active=False)

        stats = deliveries_sweep()

    assert rx.request_count == 4 and stats["delivered"] == 4


def test_a_quick_answer_holds_nothing(loopback):
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as rx:
        endpoint = endpoint_create(customer=acme, url=rx.url)
        make_deliveries(5, batch=make_batch(customer=acme), customer_endpoint=endpoint)

        stats = deliveries_sweep()

    assert rx.request_count == 5 and stats["delivered"] == 5
