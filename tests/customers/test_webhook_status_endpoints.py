"""/webhook_status lists the batch's endpoints with their rate and this batch's current rate."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.selectors import batch_endpoints
from customers.services import customer_create
from tests.customers.test_endpoint_api import batch_of, bearer
from tests.users import staff
from webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db


def deliver(batch, endpoint, status, *, seconds_ago=0, n=1):
    now = timezone.now()
    made = [
        Delivery.objects.create(
            batch=batch,
            payload={},
            customer_endpoint=endpoint,
            status=status,
            due_at=now,
            next_attempt_at=now,
        )
        for _ in range(n)
    ]
    Delivery.objects.filter(pk__in=[d.pk for d in made]).update(
        updated_at=now - timedelta(seconds=seconds_ago)
    )


@pytest.fixture
def acme(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_RATE_LIMIT = 7
    return customer_create(
        slug="acme",
        name="Acme",
        endpoint_urls=["http://127.0.0.1:9/a", "http://127.0.0.1:9/b", "http://127.0.0.1:9/c"],
        rate_limit=12.5,
    )


def test_endpoints_with_rate_and_this_batchs_finishing_rate(client, acme):
    first, second, _never_sent_to = acme.endpoints
    second.is_enabled, second.disabled_reason = False, "410 Gone"
    second.save()
    batch = batch_of(acme.customer)
    other_batch = batch_of(acme.customer)
    deliver(batch, first, DeliveryStatus.DELIVERED, n=9)
    deliver(batch, first, DeliveryStatus.FAILED, n=3)
    deliver(batch, first, DeliveryStatus.DELIVERED, seconds_ago=120, n=5)  # too long ago
    deliver(batch, first, DeliveryStatus.CANCELLED, n=4)  # nothing sent
    deliver(batch, second, DeliveryStatus.SCHEDULED, n=2)
    deliver(other_batch, first, DeliveryStatus.DELIVERED, n=30)  # another batch's
    response = client.get(f"/webhook_status/{batch.batch_id}", **bearer(staff("v", "Viewers")))
    assert response.status_code == 200
    assert response.json()["endpoints"] == [
        {
            "id": first.pk,
            "url": "http://127.0.0.1:9/a",
            "enabled": True,
            "rate_limit": 12.5,
            "current_rate": 0.2,  # 12 in 60 s, one decimal
            "disabled_reason": None,
        },
        {
            "id": second.pk,
            "url": "http://127.0.0.1:9/b",
            "enabled": False,
            "rate_limit": 12.5,
            "current_rate": 0.0,
            "disabled_reason": "410 Gone",
        },
    ]


def test_a_batchs_own_webhook_url_has_no_id_and_the_environment_rate(acme):
    batch = batch_of(acme.customer)
    batch.webhook_url = "http://127.0.0.1:9/own"
    batch.save()
    deliver(batch, None, DeliveryStatus.DELIVERED, n=60)
    with CaptureQueriesContext(connection) as queries:
        entries = batch_endpoints(batch=batch)
    assert len(queries) <= 2
    assert entries == [
        {
            "id": None,
            "url": "http://127.0.0.1:9/own",
            "enabled": True,
            "rate_limit": 7.0,
            "current_rate": 1.0,
            "disabled_reason": None,
        }
    ]


def test_a_batch_without_deliveries_lists_no_endpoint(acme):
    assert batch_endpoints(batch=batch_of(acme.customer)) == []
