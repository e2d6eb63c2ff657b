"""Sustained failure through the sender: an endpoint failing for the whole period is disabled,
and its deliveries go back to wait."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertKind
from customers.endpoints import EndpointChange, endpoint_change
from customers.models import Endpoint
from customers.services import customer_create, endpoint_create
from tests.receiver import Receiver
from tests.users import staff
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from webhooks.services import deliveries_drain, deliveries_sweep
from webhooks.services import health as health_module
from webhooks.services import page as page_module
from webhooks.services.health import endpoints_health_note
from webhooks.services.outcomes import Outcome
from webhooks.services.probe import endpoint_send_test

pytestmark = pytest.mark.django_db

DAY = timedelta(hours=24)


@pytest.fixture
def health(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_SECRET = ""
    settings.WEBHOOK_URL = ""
    settings.WEBHOOK_RETRY_SCHEDULE = "60,300"
    settings.WEBHOOK_TIMEOUT = 2.0
    settings.WEBHOOK_RATE_LIMIT = 0
    settings.WEBHOOK_LEASE_SECONDS = 30
    settings.ENDPOINT_DISABLE_AFTER_HOURS = 24
    settings.ALERT_EMAILS = ["ops@valify.example"]
    return settings


@pytest.fixture
def failing():
    with Receiver() as running:
        running.set_responder(lambda request: (500, {}, b"down"))
        yield running


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


def deliver(endpoint, n=1, **fields):
    batch = make_batch(customer=endpoint.customer)
    return make_deliveries(n, batch=batch, customer_endpoint=endpoint, **fields)


def failing_since(endpoint, since):
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=since)


def drain():
    return deliveries_drain(deadline=time.time() + 10)


def state(delivery):
    delivery.refresh_from_db()
    return delivery.status, delivery.attempts


def test_a_failure_after_the_period_disables_and_its_deliveries_wait(
    health, failing, acme, monkeypatch
):
    monkeypatch.setattr(page_module, "FLUSH_EVERY", 1)  # judged after each send
    endpoint = endpoint_create(customer=acme, url=failing.url)
    since = timezone.now() - DAY - timedelta(minutes=1)
    due = deliver(endpoint, 3)
    later = timezone.now() + timedelta(hours=2)
    retrying = deliver(endpoint, status=DeliveryStatus.RETRYING, due=later, attempts=2)[0]
    failed, failed_before, resent, erased, nameless = deliver(
        endpoint, 5, status=DeliveryStatus.FAILED, attempts=3
    )
    # As erasure leaves it; a lead with no lead id (its name missing) has no key either.
    Delivery.objects.filter(pk=erased.pk).update(lead_key="", erased_at=timezone.now())
    Delivery.objects.filter(pk=nameless.pk).update(lead_key="")
    DeliveryAttempt.objects.create(
        delivery=failed, number=3, endpoint=failing.url, started_at=since, status_code=500
    )
    Delivery.objects.filter(pk=failed_before.pk).update(updated_at=since - timedelta(minutes=1))
    deliver(endpoint, status=DeliveryStatus.DELIVERED, resend_of=resent)
    failing_since(endpoint, since)

    drain()

    assert len(failing.requests) == 1, "no request after the endpoint was disabled"
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert endpoint.disabled_reason.startswith("Every attempt failed for 24 hours (since ")
    assert [state(d) for d in due] == [(DeliveryStatus.SCHEDULED, 0)] * 3
    assert state(retrying) == state(failed) == state(nameless) == (DeliveryStatus.SCHEDULED, 0)
    assert failed.attempt_log.count() == 1, "the attempt log is kept"
    assert state(failed_before) == state(resent) == state(erased) == (DeliveryStatus.FAILED, 3)
    assert Alert.objects.get(kind=AlertKind.ENDPOINT_DISABLED).recipients == "ops@valify.example"
    drain()
    assert len(failing.requests) == 1, "a disabled endpoint's deliveries wait"


def test_the_sweep_disables_on_time_with_no_attempt_due(health, failing, acme):
    endpoint = endpoint_create(customer=acme, url=failing.url)
    later = timezone.now() + timedelta(hours=10)
    retrying = deliver(endpoint, status=DeliveryStatus.RETRYING, due=later, attempts=4)[0]
    failing_since(endpoint, timezone.now() - DAY)

    deliveries_sweep()

    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and failing.requests == []
    assert state(retrying) == (DeliveryStatus.SCHEDULED, 0)


def test_the_sweep_leaves_an_endpoint_failing_for_less_than_the_period(health, failing, acme):
    endpoint = endpoint_create(customer=acme, url=failing.url)
    failing_since(endpoint, timezone.now() - DAY + timedelta(minutes=5))
    deliver(endpoint, status=DeliveryStatus.RETRYING, due=timezone.now() + timedelta(hours=1))
    deliveries_sweep()
    endpoint.refresh_from_db()
    assert endpoint.is_enabled


def test_failures_start_the_count_and_a_rejection_is_a_success(health, acme):
    with Receiver() as receiver:
        endpoint = endpoint_create(customer=acme, url=receiver.url)
        receiver.set_responder(lambda request: (500, {}, b""))
        before = timezone.now()
        deliver(endpoint)
        drain()
        endpoint.refresh_from_db()
        assert endpoint.is_enabled and before <= endpoint.failing_since <= timezone.now()

        failing_since(endpoint, timezone.now() - DAY + timedelta(minutes=1))
        receiver.set_responder(lambda request: (422, {}, b'{"reason": "duplicate"}'))
        [rejected] = deliver(endpoint)
        drain()
    endpoint.refresh_from_db()
    assert state(rejected) == (DeliveryStatus.REJECTED, 1)
    assert endpoint.is_enabled and endpoint.failing_since is None
    assert endpoint.last_success_at is not None


def test_the_test_webhook_does_not_count(health, failing, acme):
    endpoint = endpoint_create(customer=acme, url=failing.url)
    assert endpoint_send_test(endpoint=endpoint).status_code == 500
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    since = timezone.now() - DAY
    with Receiver() as fine:
        Endpoint.objects.filter(pk=endpoint.pk).update(url=fine.url, failing_since=since)
        endpoint.refresh_from_db()
        assert endpoint_send_test(endpoint=endpoint).ok
    deliveries_sweep()  # nor is it an attempt the sweep would see
    endpoint.refresh_from_db()
    assert (endpoint.failing_since, endpoint.last_success_at) == (since, None)
    assert not endpoint.is_enabled, "the sweep still disables it: the test proved nothing"


def test_re_enabled_it_starts_afresh_and_waiting_deliveries_go_out(health, failing, acme):
    operator = staff("op", "Operators")
    endpoint = endpoint_create(customer=acme, url=failing.url)
    [failed] = deliver(endpoint, status=DeliveryStatus.FAILED, attempts=3)
    DeliveryAttempt.objects.create(
        delivery=failed, number=3, endpoint=failing.url, started_at=timezone.now(), status_code=500
    )
    failing_since(endpoint, timezone.now() - DAY - timedelta(seconds=1))
    deliveries_sweep()
    assert state(failed) == (DeliveryStatus.SCHEDULED, 0)

    failing.set_responder(None)  # back up
    endpoint_change(
        endpoint_pk=endpoint.pk, change=EndpointChange(enabled=True), user=operator, via="test"
    )
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.failing_since is None
    drain()
    assert state(failed) == (DeliveryStatus.DELIVERED, 1)
    assert list(failed.attempt_log.values_list("number", "status_code")) == [(1, 204), (3, 500)]


def test_outcomes_recorded_after_the_endpoint_was_disabled_go_back_to_wait(health, acme):
    endpoint = endpoint_create(customer=acme, url="http://127.0.0.1:9/hook")
    recorded, other = deliver(endpoint, 2, status=DeliveryStatus.RETRYING, attempts=2)
    Endpoint.objects.filter(pk=endpoint.pk).update(is_enabled=False)
    outcome = Outcome(
        delivery_pk=recorded.pk,
        attempt=2,
        endpoint=endpoint.url,
        started_at=timezone.now(),
        duration_ms=5,
        status_code=500,
        excerpt="",
        error="HTTP 500",
        status=DeliveryStatus.RETRYING,
        endpoint_pk=endpoint.pk,
    )

    assert endpoints_health_note(outcomes=[outcome]) == {endpoint.pk}

    assert state(recorded) == (DeliveryStatus.SCHEDULED, 0)
    assert state(other) == (DeliveryStatus.RETRYING, 2), "only the outcomes' own deliveries"


def test_a_fault_in_the_health_rule_never_stops_sending(health, acme, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("health store down")

    monkeypatch.setattr(health_module, "endpoints_failing_too_long", broken)
    monkeypatch.setattr(health_module, "endpoint_health_record", broken)
    with Receiver() as fine:
        endpoint = endpoint_create(customer=acme, url=fine.url)
        [delivery] = deliver(endpoint)
        assert deliveries_sweep()["delivered"] == 1
    assert state(delivery) == (DeliveryStatus.DELIVERED, 1)
    logged = {r.getMessage() for r in caplog.records}
    assert {"webhooks.health_check_failed", "webhooks.health_record_failed"} <= logged


def test_a_flush_reads_the_health_of_all_its_endpoints_at_once(health, django_assert_num_queries):
    acme = customer_create(slug="acme", name="Acme").customer
    endpoints = [endpoint_create(customer=acme, url=f"https://acme.example/{n}") for n in range(4)]
    now = timezone.now()
    for endpoint in endpoints:  # each known to work just now: nothing worth writing
        Endpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now)
    outcomes = [
        Outcome(
            delivery_pk=n,
            attempt=1,
            endpoint=endpoint.url,
            started_at=now,
            duration_ms=5,
            status_code=200,
            excerpt="",
            error="",
            status=DeliveryStatus.DELIVERED,
            endpoint_pk=endpoint.pk,
        )
        for n, endpoint in enumerate(endpoints * 5)
    ]

    with django_assert_num_queries(1):
        assert endpoints_health_note(outcomes=outcomes) == set()
