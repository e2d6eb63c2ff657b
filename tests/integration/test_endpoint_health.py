"""Endpoint health through a real worker, PostgreSQL, Redis and a receiver that always fails.

The worker disables an endpoint after a few seconds of failure (ENDPOINT_DISABLE_AFTER_HOURS
in its environment), with one-second retries, so the rule plays out in seconds.
"""

import threading
import time

import pytest

from alerts.models import Alert, AlertKind
from customers.endpoints import EndpointChange, endpoint_change
from customers.models import Endpoint
from customers.services import customer_create, endpoint_create
from tests.integration_support import WorkerProcess, wait_for
from tests.receiver import Receiver
from tests.users import staff
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.tasks import sweep

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DISABLE_AFTER_SECONDS = 4


@pytest.fixture(scope="module")
def health_worker(integration_env, tmp_path_factory):
    env = {
        **integration_env,
        "WEBHOOK_SECRET": "",
        "WEBHOOK_URL": "",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "WEBHOOK_RETRY_SCHEDULE": ",".join(["1"] * 20),
        "WEBHOOK_TIMEOUT": "1",
        "WEBHOOK_LEASE_SECONDS": "7",
        "WEBHOOK_SWEEP_SECONDS": "1",
        "ENDPOINT_DISABLE_AFTER_HOURS": str(DISABLE_AFTER_SECONDS / 3600),
        "ALERT_EMAILS": "ops@valify.example",
    }
    process = WorkerProcess(env, tmp_path_factory.mktemp("health-worker-logs")).start()
    yield process
    process.stop()


def sweeping_meanwhile(stop: threading.Event) -> threading.Thread:
    def run():
        while not stop.is_set():
            sweep.delay()
            stop.wait(0.5)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_an_endpoint_answering_500_is_disabled_and_its_deliveries_wait(health_worker, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    acme = customer_create(slug="acme", name="Acme").customer
    stop = threading.Event()
    with Receiver(secret=acme.secret) as receiver:
        receiver.set_responder(lambda request: (500, {}, b"down"))
        endpoint = endpoint_create(customer=acme, url=receiver.url)
        deliveries = make_deliveries(5, batch=make_batch(customer=acme), customer_endpoint=endpoint)
        thread = sweeping_meanwhile(stop)
        try:
            started = time.monotonic()
            wait_for(
                lambda: not Endpoint.objects.get(pk=endpoint.pk).is_enabled,
                timeout=60,
                interval=0.2,
                message=lambda: f"the endpoint disabled; worker log:\n{health_worker.log_tail()}",
            )
            took = time.monotonic() - started
            wait_for(
                lambda: (
                    set(
                        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).values_list(
                            "status", "attempts"
                        )
                    )
                    == {(DeliveryStatus.SCHEDULED, 0)}
                ),
                timeout=15,
                interval=0.2,
                message=lambda: (
                    "every delivery back to wait: "
                    f"{list(Delivery.objects.values_list('status', 'attempts'))}"
                ),
            )
            seen = len(receiver.requests)
            time.sleep(3)  # sweeps go on: nothing goes to the disabled endpoint
            assert len(receiver.requests) == seen
        finally:
            stop.set()
            thread.join(timeout=5)

        endpoint.refresh_from_db()
        assert took >= DISABLE_AFTER_SECONDS - 1
        assert endpoint.disabled_reason.startswith("Every attempt failed for ")
        assert Alert.objects.filter(kind=AlertKind.ENDPOINT_DISABLED).count() == 1
        assert all(r.verified for r in receiver.requests)
        for delivery in deliveries:
            assert delivery.attempt_log.count() >= 1, "the attempt log is kept"

        receiver.set_responder(None)  # back up; an operator re-enables it
        operator = staff("op", "Operators")
        change = EndpointChange(enabled=True)
        endpoint_change(endpoint_pk=endpoint.pk, change=change, user=operator, via="test")
        stop.clear()
        thread = sweeping_meanwhile(stop)
        try:
            wait_for(
                lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 5,
                timeout=30,
                interval=0.2,
                message=lambda: (
                    f"delivered once re-enabled; worker log:\n{health_worker.log_tail()}"
                ),
            )
        finally:
            stop.set()
            thread.join(timeout=5)
