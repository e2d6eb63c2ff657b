"""Customers: the default customer, secrets and rotation, scope and the upload's customer."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from customers.errors import CustomerRefused
from customers.models import Customer, Endpoint
from customers.secrets import DEFAULT_ROTATION_HOURS, rotation_plan, secret_new
from customers.selectors import (
    customer_for_upload,
    customer_signing_secrets,
    customers_visible_to,
)
from customers.services import customer_create, customer_secret_rotate, endpoint_create
from tests.envsettings import settings_from_env
from tests.users import staff
from webhooks.signing import payload_bytes, signed_headers

pytestmark = pytest.mark.django_db


def test_migrate_creates_default_with_no_secret():
    default = Customer.objects.get(slug="default")
    assert default.secret == ""
    assert customer_signing_secrets(default) == []


def test_new_secret_is_accepted_by_the_standard_webhooks_library():
    secret = secret_new()
    assert secret.startswith("whsec_")
    body = payload_bytes({"a": 1})
    headers = signed_headers(secret=secret, msg_id="msg_1", body=body)
    assert Webhook(secret).verify(body, headers) == {"a": 1}


def test_rotation_hours_default_to_the_constant_and_refuse_nonsense():
    assert settings_from_env().WEBHOOK_SECRET_ROTATION_HOURS == DEFAULT_ROTATION_HOURS == 24
    reread = settings_from_env(WEBHOOK_SECRET_ROTATION_HOURS="2.5")
    assert reread.WEBHOOK_SECRET_ROTATION_HOURS == 2.5
    for value in ("0", "-24", "nan", "a day"):
        with pytest.raises(ImproperlyConfigured, match="WEBHOOK_SECRET_ROTATION_HOURS"):
            settings_from_env(WEBHOOK_SECRET_ROTATION_HOURS=value)


def test_rotation_keeps_previous_valid_then_drops_it_on_next_rotation(settings):
    settings.WEBHOOK_SECRET_ROTATION_HOURS = 24
    made = customer_create(slug="acme", name="Acme")
    first = made.customer.secret
    customer_secret_rotate(customer=made.customer)
    second = made.customer.secret
    assert customer_signing_secrets(made.customer) == [second, first]
    until = made.customer.previous_valid_until
    assert timedelta(hours=23) < until - timezone.now() <= timedelta(hours=24)
    customer_secret_rotate(customer=made.customer)
    assert customer_signing_secrets(made.customer) == [made.customer.secret, second]


def test_previous_secret_stops_signing_once_expired():
    now = timezone.now()
    plan = rotation_plan(
        current="a", previous="", previous_valid_until=None, new="b", now=now, hours=1
    )
    customer = Customer(
        secret=plan.secret,
        previous_secret=plan.previous_secret,
        previous_valid_until=plan.previous_valid_until,
    )
    assert customer_signing_secrets(customer, now=now) == ["b", "a"]
    assert customer_signing_secrets(customer, now=now + timedelta(hours=2)) == ["b"]


def test_rotating_default_refused_while_webhook_secret_is_set(settings):
    settings.WEBHOOK_SECRET = secret_new()
    with pytest.raises(CustomerRefused) as refused:
        customer_secret_rotate(customer=Customer.objects.get(slug="default"))
    assert "WEBHOOK_SECRET" in refused.value.message


def test_slug_must_be_lowercase_letters_digits_hyphens():
    with pytest.raises(ValidationError) as error:
        customer_create(slug="Bad_Slug", name="x")
    assert "slug" in error.value.message_dict
    assert not Customer.objects.filter(name="x").exists()


def test_endpoint_url_checked_by_the_address_rules(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    customer = customer_create(slug="acme", name="Acme").customer
    with pytest.raises(ValidationError) as error:
        endpoint_create(customer=customer, url="https://10.0.0.1/hook")
    assert "url" in error.value.message_dict
    assert not Endpoint.objects.filter(customer=customer).exists()


def test_new_endpoint_takes_webhook_rate_limit(settings):
    settings.WEBHOOK_RATE_LIMIT = 7.5
    customer = customer_create(slug="acme", name="Acme").customer
    endpoint = endpoint_create(customer=customer, url="https://example.com/hook")
    endpoint.refresh_from_db()
    assert str(endpoint.rate_limit) == "7.50"


def test_groups_see_all_but_customer_groups_only_their_members():
    acme = customer_create(slug="acme", name="Acme").customer
    customer_create(slug="other", name="Other")
    assert customers_visible_to(staff("op", "Operators")).count() == 3
    assert customers_visible_to(staff("viewer", "Viewers")).count() == 3
    assert customers_visible_to(staff("boss", "Administrators")).count() == 3
    scoped = staff("scoped", "Customer operators")
    assert list(customers_visible_to(scoped)) == []
    acme.members.add(scoped)
    assert list(customers_visible_to(scoped)) == [acme]


def test_upload_goes_to_the_users_only_customer_else_default():
    acme = customer_create(slug="acme", name="Acme").customer
    scoped = staff("scoped", "Customer operators")
    acme.members.add(scoped)
    assert customer_for_upload(user=scoped) == acme
    assert customer_for_upload(user=staff("op", "Operators")).slug == "default"


def test_upload_refuses_slug_outside_scope_and_inactive_customer():
    acme = customer_create(slug="acme", name="Acme").customer
    scoped = staff("scoped", "Customer operators")
    with pytest.raises(CustomerRefused) as refused:
        customer_for_upload(user=scoped, slug="acme")
    assert refused.value.code == "unknown_customer"
    op = staff("op", "Operators")
    with pytest.raises(CustomerRefused) as refused:
        customer_for_upload(user=op, slug="nope")
    assert refused.value.code == "unknown_customer"
    with pytest.raises(CustomerRefused) as refused:
        customer_for_upload(user=op, slug="default", token_customer=acme)
    assert refused.value.code == "unknown_customer"
    Customer.objects.filter(pk=acme.pk).update(is_active=False)
    acme.refresh_from_db()
    with pytest.raises(CustomerRefused) as refused:
        customer_for_upload(user=op, slug="acme")
    assert refused.value.code == "customer_inactive"


def test_alert_emails_must_be_addresses():
    with pytest.raises(ValidationError) as refused:
        customer_create(slug="acme", name="Acme", alert_emails=["ops@acme.example", "ops at acme"])
    assert "ops at acme" in str(refused.value.message_dict["alert_emails"])
    assert not Customer.objects.filter(slug="acme").exists()
    made = customer_create(
        slug="acme", name="Acme", alert_emails=["ops@acme.example", " sales@acme.example "]
    )
    assert made.customer.alert_emails == "ops@acme.example,sales@acme.example"
