"""The environment's `default` customer, and signing with each batch's customer's secrets."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from customers.models import Customer, Endpoint
from customers.secrets import secret_new
from customers.selectors import batch_signing_secrets
from customers.services import (
    ENVIRONMENT_UNSET_REASON,
    customer_create,
    customer_secret_rotate,
    environment_apply,
)
from tests.receiver import Receiver
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import DeliveryStatus
from webhooks.services import claims, deliveries_sweep
from webhooks.services.claims import Claim

pytestmark = pytest.mark.django_db


def default() -> Customer:
    return Customer.objects.get(slug="default")


def test_webhook_secret_becomes_defaults_secret_and_a_change_is_a_rotation(settings):
    first, second = secret_new(), secret_new()
    settings.WEBHOOK_SECRET = first
    environment_apply()
    assert (default().secret, default().previous_secret) == (first, "")
    environment_apply()  # unchanged: nothing rotates
    assert default().previous_secret == ""
    settings.WEBHOOK_SECRET = second
    environment_apply()
    assert (default().secret, default().previous_secret) == (second, first)
    assert default().previous_valid_until > timezone.now() + timedelta(hours=23)


def test_webhook_url_is_the_environment_endpoint_and_removing_it_disables_it(settings):
    settings.WEBHOOK_URL = "https://one.example/hook"
    environment_apply()
    [endpoint] = Endpoint.objects.filter(customer=default())
    assert (endpoint.url, endpoint.is_environment, endpoint.is_enabled) == (
        "https://one.example/hook",
        True,
        True,
    )
    settings.WEBHOOK_URL = "https://two.example/hook"
    environment_apply()
    endpoint.refresh_from_db()
    assert endpoint.url == "https://two.example/hook"
    settings.WEBHOOK_URL = ""
    environment_apply()
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert endpoint.disabled_reason == ENVIRONMENT_UNSET_REASON
    settings.WEBHOOK_URL = "https://two.example/hook"
    environment_apply()
    endpoint.refresh_from_db()
    assert endpoint.is_enabled
    assert Endpoint.objects.count() == 1


def test_during_rotation_both_signatures_are_sent_and_either_secret_verifies(loopback):
    acme = customer_create(slug="acme", name="Acme").customer
    old = acme.secret
    customer_secret_rotate(customer=acme)
    new = acme.secret
    with Receiver() as receiver:
        [delivery] = make_deliveries(1, batch=make_batch(customer=acme, webhook_url=receiver.url))
        assert deliveries_sweep()["delivered"] == 1
        assert receiver.wait_for(1, timeout=2)
        request = receiver.requests[0]
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    for secret in (new, old):
        assert Webhook(secret).verify(request.body, request.headers)["id"] == delivery.payload["id"]
    # The new secret's signature comes first: each one alone verifies with its own secret.
    for secret, signature in zip((new, old), signatures, strict=True):
        alone = {**request.headers, "webhook-signature": signature}
        assert Webhook(secret).verify(request.body, alone)["id"] == delivery.payload["id"]
    with pytest.raises(Exception):  # noqa: B017 - any verification error
        Webhook(secret_new()).verify(request.body, request.headers)


def test_each_batch_is_signed_with_its_own_customers_secret(loopback):
    acme = customer_create(slug="acme", name="Acme").customer
    with Receiver(secret=acme.secret) as receiver:
        make_deliveries(1, batch=make_batch(customer=acme, webhook_url=receiver.url))
        deliveries_sweep()
        assert receiver.wait_for(1, timeout=2)
        assert receiver.requests[0].verified is True
        assert " " not in receiver.requests[0].headers["webhook-signature"]


def test_deliveries_of_a_customer_with_no_secret_wait_using_no_attempt(loopback):
    with Receiver() as receiver:
        [delivery] = make_deliveries(1, batch=make_batch(webhook_url=receiver.url))
        deliveries_sweep()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SCHEDULED, 0)
        assert receiver.requests == []
        # Once the environment gives `default` a secret, they go out.
        loopback.WEBHOOK_SECRET = secret_new()
        assert deliveries_sweep()["delivered"] == 1


def test_inactive_customer_holds_its_deliveries(loopback):
    acme = customer_create(slug="acme", name="Acme").customer
    Customer.objects.filter(pk=acme.pk).update(is_active=False)
    with Receiver() as receiver:
        [delivery] = make_deliveries(1, batch=make_batch(customer=acme, webhook_url=receiver.url))
        deliveries_sweep()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.SCHEDULED, 0)


def test_a_rotation_reaches_a_claim_within_a_second(monkeypatch):
    acme = customer_create(slug="acme", name="Acme").customer
    old = acme.secret
    batch = make_batch(customer=acme)
    clock = [1000.0]
    monkeypatch.setattr(claims.time, "monotonic", lambda: clock[0])
    claim = Claim(token=uuid.uuid4(), deliveries=[], lease_seconds=60, db_now=timezone.now())
    assert claim.signing_secrets(batch.pk, batch_signing_secrets) == [old]

    customer_secret_rotate(customer=acme)
    clock[0] += claims.SECRETS_FRESH_SECONDS / 2
    assert claim.signing_secrets(batch.pk, batch_signing_secrets) == [old]  # one read a flush
    clock[0] += claims.SECRETS_FRESH_SECONDS / 2

    assert claim.signing_secrets(batch.pk, batch_signing_secrets) == [acme.secret, old]
