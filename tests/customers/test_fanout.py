"""Fan-out: one delivery per lead per endpoint of the batch's customer that is not archived."""

import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Alert, AlertKind
from customers.models import Endpoint
from customers.services import customer_create, endpoint_create
from tests.receiver import Receiver
from tests.webhooks.factories import SECRET
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliveries_sweep

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\n"


@pytest.fixture
def loopback(loopback):
    loopback.WEBHOOK_DELAY_SECONDS = 0
    return loopback


def import_for(tmp_path, slug: str, *extra: str) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_bytes(CSV)
    call_command("import_batch", str(leads), "--inline", "--customer", slug, *extra)


def test_each_lead_goes_to_every_endpoint_not_archived(loopback, tmp_path):
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as one, Receiver(secret=acme.secret) as two:
        first = endpoint_create(customer=acme, url=one.url)
        second = endpoint_create(customer=acme, url=two.url)
        endpoint_create(customer=acme, url=two.url + "archived")
        Endpoint.objects.filter(url=two.url + "archived").update(is_archived=True)
        import_for(tmp_path, "acme")
        assert Delivery.objects.filter(customer_endpoint=first).count() == 2
        assert Delivery.objects.filter(customer_endpoint=second).count() == 2
        assert Delivery.objects.count() == 4
        Endpoint.objects.filter(pk=second.pk).update(is_enabled=False)
        assert deliveries_sweep()["delivered"] == 2
        assert one.wait_for(2, timeout=2) and two.requests == []
        assert all(r.verified for r in one.requests)
    waiting = Delivery.objects.filter(customer_endpoint=second)
    assert {(d.status, d.attempts) for d in waiting} == {(DeliveryStatus.SCHEDULED, 0)}
    assert {d.endpoint for d in Delivery.objects.filter(customer_endpoint=first)} == {one.url}


def test_batch_webhook_url_replaces_the_endpoints(loopback, tmp_path):
    acme = customer_create(slug="acme", name="Acme").customer
    endpoint_create(customer=acme, url="http://127.0.0.1:9/a")
    endpoint_create(customer=acme, url="http://127.0.0.1:9/b")
    import_for(tmp_path, "acme", "--webhook-url", "http://127.0.0.1:9/own")
    assert Delivery.objects.count() == 2
    assert not Delivery.objects.filter(customer_endpoint__isnull=False).exists()


def test_no_endpoint_waits_unbound_then_binds_to_the_first_added(loopback, tmp_path):
    acme = customer_create(slug="acme", name="Acme").customer
    import_for(tmp_path, "acme")
    assert Delivery.objects.filter(customer_endpoint__isnull=True).count() == 2
    deliveries_sweep()
    assert set(Delivery.objects.values_list("status", "attempts")) == {
        (DeliveryStatus.SCHEDULED, 0)
    }
    endpoint = endpoint_create(customer=acme, url="http://127.0.0.1:9/first")
    assert Delivery.objects.filter(customer_endpoint=endpoint).count() == 2


def test_webhook_url_takes_the_default_customers_leads_only(loopback, tmp_path):
    loopback.WEBHOOK_SECRET = SECRET
    acme = customer_create(slug="acme", name="Acme").customer  # no endpoint yet
    with Receiver(secret=SECRET) as environment:
        loopback.WEBHOOK_URL = environment.url
        import_for(tmp_path, "acme")
        import_for(tmp_path, "default")

        assert deliveries_sweep()["delivered"] == 2
        assert environment.wait_for(2, timeout=2)

    assert {json.loads(r.body)["customer"] for r in environment.requests} == {"default"}
    acmes = Delivery.objects.filter(batch__customer=acme)
    assert {(d.status, d.attempts, d.endpoint) for d in acmes} == {
        (DeliveryStatus.SCHEDULED, 0, "")
    }


def test_each_endpoints_rate_limit_applies_and_a_change_needs_no_restart(
    loopback, tmp_path, monkeypatch
):
    from webhooks.services import page as page_module

    asked = []

    class Recorder:
        def reserve(self, key, rate, timeout):
            asked.append((key, rate))
            return 0.0

    monkeypatch.setattr(page_module, "process_limiter", lambda: Recorder())
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as receiver:
        endpoint = endpoint_create(customer=acme, url=receiver.url, rate_limit=5)
        import_for(tmp_path, "acme")
        deliveries_sweep()
        assert {rate for _, rate in asked} == {5.0}
        Endpoint.objects.filter(pk=endpoint.pk).update(rate_limit=15)
        asked.clear()
        Delivery.objects.update(status=DeliveryStatus.SCHEDULED, next_attempt_at=timezone.now())
        deliveries_sweep()
        assert {rate for _, rate in asked} == {15.0}
        assert len({key for key, _ in asked}) == 1


def test_payload_and_results_name_the_batchs_customer(loopback, tmp_path):
    from batches.exports import iter_results_csv
    from batches.models import BatchJob

    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as receiver:
        endpoint_create(customer=acme, url=receiver.url)
        import_for(tmp_path, "acme")
        assert deliveries_sweep()["delivered"] == 2
        assert receiver.wait_for(2, timeout=2)
        assert {json.loads(r.body)["customer"] for r in receiver.requests} == {"acme"}
    lines = list(iter_results_csv(BatchJob.objects.get().leads.all()))
    header = lines[0].lstrip("\ufeff").strip().split(",")
    cells = [line.strip().split(",") for line in lines[1:]]
    assert {row[header.index("customer")] for row in cells} == {"acme"}


def test_410_disables_the_endpoint_and_its_deliveries_wait(loopback, tmp_path):
    loopback.ALERT_EMAILS = ["ops@valify.example"]
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as gone, Receiver(secret=acme.secret) as fine:
        gone.set_responder(lambda request: (410, {}, b"moved"))
        dead = endpoint_create(customer=acme, url=gone.url)
        alive = endpoint_create(customer=acme, url=fine.url)
        import_for(tmp_path, "acme")
        deliveries_sweep()
        assert fine.wait_for(2, timeout=2)
        assert len(gone.requests) == 1  # none after the answer was seen
    dead.refresh_from_db()
    assert (dead.is_enabled, dead.disabled_reason) == (False, "410 Gone")
    waiting = Delivery.objects.filter(customer_endpoint=dead).order_by("attempts")
    assert [(d.status, d.attempts) for d in waiting] == [
        (DeliveryStatus.SCHEDULED, 0),
        (DeliveryStatus.SCHEDULED, 1),
    ]
    delivered = Delivery.objects.filter(customer_endpoint=alive)
    assert {d.status for d in delivered} == {DeliveryStatus.DELIVERED}
    alert = Alert.objects.get(kind=AlertKind.ENDPOINT_DISABLED)
    assert gone.url in alert.subject and alert.recipients == "ops@valify.example"
