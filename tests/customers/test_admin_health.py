"""Endpoint health in the console: state, success rate and p95 latency, read once a page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Endpoint
from customers.services import customer_create, endpoint_create
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import DeliveryAttempt

pytestmark = pytest.mark.django_db

SINCE = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 10:00 in London (BST)


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


@pytest.fixture
def root(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    return client


def answered(endpoint, rows):
    [delivery] = make_deliveries(
        batch=make_batch(customer=endpoint.customer), customer_endpoint=endpoint
    )
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=delivery,
            number=i + 1,
            endpoint=endpoint.url,
            started_at=timezone.now() - timedelta(hours=1),
            status_code=code,
            duration_ms=ms,
        )
        for i, (code, ms) in enumerate(rows)
    )


def endpoints(acme, n):
    made = [endpoint_create(customer=acme, url=f"https://h{i}.acme.example/") for i in range(n)]
    for endpoint in made:
        answered(endpoint, [(204, 100), (500, 200), (204, 300)])
    return made


def test_the_list_shows_each_endpoints_state_success_rate_and_p95(root, acme):
    _healthy, failing, gone = endpoints(acme, 3)
    Endpoint.objects.filter(pk=failing.pk).update(failing_since=SINCE)
    Endpoint.objects.filter(pk=gone.pk).update(
        is_enabled=False,
        disabled_at=SINCE + timedelta(hours=24),
        disabled_reason="Every attempt failed for 24 hours (since 2026-07-01T09:00:00Z)",
    )
    endpoint_create(customer=acme, url="https://quiet.acme.example/")

    page = root.get("/admin/customers/endpoint/").content.decode()

    # In TIME_ZONE, as the admin shows its own fields; the stored reason keeps its UTC time.
    assert "Enabled; every attempt failed since 1 Jul 2026, 10 a.m." in page
    assert (
        "Disabled since 2 Jul 2026, 10 a.m.: Every attempt failed for 24 hours "
        "(since 2026-07-01T09:00:00Z)"
    ) in page
    # 2 of 3 answered 2xx; p95 of 100, 200, 300 ms interpolates to 290 ms.
    assert page.count("66.7% of 3") == 3 and page.count("290 ms") == 3
    assert "no attempts" in page


def test_the_list_reads_the_figures_once_a_page(root, acme):
    endpoints(acme, 2)
    root.get("/admin/customers/endpoint/")  # caches (content types) warmed up
    with CaptureQueriesContext(connection) as few:
        assert root.get("/admin/customers/endpoint/").status_code == 200
    endpoints(acme, 6)
    with CaptureQueriesContext(connection) as many:
        assert root.get("/admin/customers/endpoint/").status_code == 200
    assert len(many) == len(few)


def test_the_customer_page_shows_its_endpoints_health_read_once(root, acme):
    endpoints(acme, 2)
    url = f"/admin/customers/customer/{acme.pk}/change/"
    root.get(url)  # caches (content types) warmed up
    with CaptureQueriesContext(connection) as few:
        page = root.get(url).content.decode()
    assert page.count("66.7% of 3") == 2 and page.count("290 ms") == 2
    assert page.count(">Enabled<") == 2
    endpoints(acme, 4)
    with CaptureQueriesContext(connection) as many:
        root.get(url)
    assert len(many) == len(few)


def test_an_endpoints_page_shows_its_health(root, acme):
    [endpoint] = endpoints(acme, 1)
    page = root.get(f"/admin/customers/endpoint/{endpoint.pk}/change/").content.decode()
    assert "66.7% of 3" in page and "290 ms" in page and "Enabled" in page


def change(root, endpoint, **fields):
    data = {
        "customer": endpoint.customer_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "rate_limit": "0",
        "is_enabled": "on" if endpoint.is_enabled else "",
        **fields,
    }
    response = root.post(f"/admin/customers/endpoint/{endpoint.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint.refresh_from_db()


def test_re_enabling_or_a_new_url_forgives_past_failures_and_other_edits_keep_them(root, acme):
    endpoint = endpoint_create(customer=acme, url="https://old.acme.example/")
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=SINCE, last_success_at=SINCE)
    endpoint.refresh_from_db()
    change(root, endpoint, description="main receiver")
    assert (endpoint.description, endpoint.failing_since) == ("main receiver", SINCE)

    change(root, endpoint, url="https://new.acme.example/")
    assert (endpoint.failing_since, endpoint.last_success_at) == (None, None)

    Endpoint.objects.filter(pk=endpoint.pk).update(
        is_enabled=False, disabled_reason="410 Gone", failing_since=SINCE
    )
    endpoint.refresh_from_db()
    change(root, endpoint, is_enabled="on")
    assert endpoint.is_enabled and endpoint.failing_since is None
    assert endpoint.disabled_reason == ""


def test_an_endpoint_disabled_by_hand_says_since_when_and_why(root, acme):
    from django.utils import timezone

    endpoint = endpoint_create(customer=acme, url="https://acme.example/")
    before = timezone.now()

    change(root, endpoint, is_enabled="")

    assert not endpoint.is_enabled
    assert endpoint.disabled_reason == "Disabled by an operator"
    assert endpoint.disabled_at is not None and endpoint.disabled_at >= before
    listing = root.get("/admin/customers/endpoint/").content.decode()
    assert "Disabled by an operator" in listing


def test_an_endpoint_stays_with_its_customer(root, acme):
    other = customer_create(slug="other", name="Other").customer
    endpoint = endpoint_create(customer=acme, url="https://acme.example/")

    page = root.get(f"/admin/customers/endpoint/{endpoint.pk}/change/").content.decode()
    change(root, endpoint, customer=other.pk, description="moved?")

    assert 'name="customer"' not in page
    assert (endpoint.customer_id, endpoint.description) == (acme.pk, "moved?")
    history = LogEntry.objects.get(object_id=str(endpoint.pk)).get_change_message()
    assert "Customer" not in history
