"""PATCH /api/endpoints/<id>: rate and enabled only, in scope, recorded, re-enabling releases."""

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from api.models import ApiToken
from batches.services import batch_create
from customers.services import customer_create
from tests.users import staff
from webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    made = customer_create(slug="acme", name="Acme", endpoint_urls=["http://127.0.0.1:9/in"])
    return made.endpoints[0]


def batch_of(customer):
    csv = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\n"
    return batch_create(files=[SimpleUploadedFile("l.csv", csv)], queue=False, customer=customer)


def patch(client, endpoint_id, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.patch(
        f"/api/endpoints/{endpoint_id}", data, content_type="application/json", **extra
    )


def bearer(user, customer=None) -> dict:
    _, plain = ApiToken.issue(name="script", user=user, customer=customer)
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def test_rate_change_answers_the_new_and_previous_rate_and_is_recorded(client, endpoint):
    endpoint.rate_limit = 10
    endpoint.save()
    user = staff("op", "Operators")
    response = patch(client, endpoint.pk, {"rate_limit": 15}, **bearer(user))
    assert response.status_code == 200
    assert response.json() == {
        "id": endpoint.pk,
        "url": "http://127.0.0.1:9/in",
        "enabled": True,
        "rate_limit": 15.0,
        "previous_rate_limit": 10.0,
    }
    endpoint.refresh_from_db()
    assert endpoint.rate_limit == 15
    entry = LogEntry.objects.get(object_id=str(endpoint.pk), user=user)
    assert "10.00 → 15.00" in entry.change_message
    assert "PATCH /api/endpoints/" in entry.change_message


@pytest.mark.parametrize(
    "body",
    [
        {"rate_limit": -1},
        {"rate_limit": "15"},
        {"rate_limit": True},
        {"enabled": "yes"},
        {"url": "http://evil.example/"},
        {"rate_limit": 5, "description": "x"},
        {},
        [1],
        "not json",
        {"rate_limit": 1e300},
    ],
)
def test_anything_but_rate_limit_and_enabled_is_bad_request(client, endpoint, body):
    response = patch(client, endpoint.pk, body, **bearer(staff("op", "Operators")))
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/in"


@pytest.mark.parametrize("rate", [0.001, 0.0049, 1e-300])
def test_a_rate_that_rounds_to_zero_is_refused_not_made_unlimited(client, endpoint, rate):
    endpoint.rate_limit = 10
    endpoint.save()

    response = patch(client, endpoint.pk, {"rate_limit": rate}, **bearer(staff("op", "Operators")))

    assert response.status_code == 400
    assert "0 (unlimited) or at least 0.01" in response.json()["detail"]
    endpoint.refresh_from_db()
    assert endpoint.rate_limit == 10


def test_needs_change_endpoint_permission(client, endpoint):
    response = patch(client, endpoint.pk, {"rate_limit": 1}, **bearer(staff("v", "Viewers")))
    assert response.status_code == 403


def test_out_of_scope_or_unknown_endpoint_is_404(client, endpoint):
    other = customer_create(slug="other", name="Other").customer
    scoped = staff("scoped", "Customer operators")
    scoped.customers.add(other)
    assert patch(client, endpoint.pk, {"rate_limit": 1}, **bearer(scoped)).status_code == 404
    op = staff("op", "Operators")
    assert patch(client, endpoint.pk, {"rate_limit": 1}, **bearer(op, other)).status_code == 404
    assert patch(client, 99999, {"rate_limit": 1}, **bearer(op)).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.rate_limit != 1
    scoped.customers.add(endpoint.customer)
    assert patch(client, endpoint.pk, {"rate_limit": 1}, **bearer(scoped)).status_code == 200


def test_session_needs_csrf(endpoint):
    from django.test import Client

    user = staff("op", "Operators")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = patch(client, endpoint.pk, {"rate_limit": 3})
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"


def test_re_enabling_clears_the_reason_and_makes_waiting_deliveries_due_now(client, endpoint):
    now = timezone.now()
    endpoint.is_enabled, endpoint.disabled_reason, endpoint.disabled_at = False, "410 Gone", now
    endpoint.save()
    batch = batch_of(endpoint.customer)
    later = now + timedelta(hours=3)
    waiting = Delivery.objects.create(
        batch=batch,
        payload={},
        customer_endpoint=endpoint,
        due_at=now - timedelta(hours=1),
        next_attempt_at=later,
    )
    delayed = Delivery.objects.create(
        batch=batch,
        payload={},
        customer_endpoint=endpoint,
        due_at=later,
        next_attempt_at=later,
    )
    response = patch(client, endpoint.pk, {"enabled": True}, **bearer(staff("op", "Operators")))
    assert response.status_code == 200
    assert response.json()["enabled"] is True
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.disabled_reason, endpoint.disabled_at) == (True, "", None)
    waiting.refresh_from_db()
    delayed.refresh_from_db()
    assert waiting.status == DeliveryStatus.SCHEDULED
    assert waiting.next_attempt_at <= timezone.now()
    assert delayed.next_attempt_at == later  # a customer's delay is not cut short


def test_session_with_csrf_token_changes_it(endpoint):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff("op", "Operators"))
    client.get("/admin/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = patch(client, endpoint.pk, {"enabled": False}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_reason == "Disabled by an operator"


def test_re_enabling_in_the_admin_clears_the_reason_and_releases_deliveries(endpoint):
    from django.test import Client

    now = timezone.now()
    Endpoint = type(endpoint)
    Endpoint.objects.filter(pk=endpoint.pk).update(
        is_enabled=False, disabled_reason="410 Gone", disabled_at=now
    )
    waiting = Delivery.objects.create(
        batch=batch_of(endpoint.customer),
        payload={},
        customer_endpoint=endpoint,
        due_at=now - timedelta(hours=1),
        next_attempt_at=now + timedelta(hours=3),
    )
    client = Client()
    client.force_login(staff("op", "Operators"))
    response = client.post(
        f"/admin/customers/endpoint/{endpoint.pk}/change/",
        {
            "customer": endpoint.customer_id,
            "url": endpoint.url,
            "description": "",
            "is_enabled": "on",
            "rate_limit": "10",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.disabled_reason, endpoint.disabled_at) == (True, "", None)
    waiting.refresh_from_db()
    assert waiting.next_attempt_at <= timezone.now()
