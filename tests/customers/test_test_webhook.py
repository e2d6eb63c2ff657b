"""The test webhook: signed with the customer's secrets, reported, never a delivery."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.test import Client
from standardwebhooks.webhooks import Webhook

from customers.models import Endpoint
from customers.services import customer_create, customer_secret_rotate, endpoint_create
from tests.receiver import Receiver
from tests.users import staff
from webhooks.models import Delivery, DeliveryAttempt, WebhookControl
from webhooks.services.probe import endpoint_send_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_TIMEOUT = 2.0
    return customer_create(slug="acme", name="Acme").customer


def test_signed_with_both_secrets_during_a_rotation_and_no_delivery_made(acme):
    old = acme.secret
    customer_secret_rotate(customer=acme)
    acme.refresh_from_db()
    with Receiver(secret=acme.secret) as receiver:
        receiver.set_responder(lambda request: (200, {}, b'{"ok": true, "who": "acme-crm"}'))
        endpoint = endpoint_create(customer=acme, url=receiver.url + "-probe")
        first = endpoint_send_test(endpoint=endpoint)
        second = endpoint_send_test(endpoint=endpoint)
        assert receiver.wait_for(2, timeout=5)
    assert first.ok and first.status_code == 200
    assert '"who": "acme-crm"' in first.body_start
    assert "HTTP 200" in str(first) and "acme-crm" in str(first)
    assert first.msg_id != second.msg_id
    request = receiver.requests[0]
    assert request.path.endswith("hook-probe")
    assert request.verified is True
    body = json.loads(request.body)
    assert set(body) == {"type", "customer", "sent_at"}
    assert body["type"] == "webhook.test" and body["customer"] == "acme"
    assert body["sent_at"].endswith("Z")
    # The previous secret still verifies it: both signatures are on it.
    Webhook(old).verify(request.body, request.headers)
    assert request.headers["webhook-id"] == first.msg_id
    assert not Delivery.objects.exists() and not DeliveryAttempt.objects.exists()


def test_command_exits_0_on_2xx_and_1_otherwise_even_disabled_and_switched_off(acme, capsys):
    WebhookControl.objects.update_or_create(
        pk=WebhookControl.SINGLETON_PK, defaults={"paused": True}
    )
    with Receiver(secret=acme.secret) as receiver:
        endpoint = endpoint_create(customer=acme, url=receiver.url)
        Endpoint.objects.filter(pk=endpoint.pk).update(is_enabled=False, disabled_reason="410")
        call_command("send_test_webhook", str(endpoint.pk))
        assert "HTTP 204" in capsys.readouterr().out
        receiver.set_responder(lambda request: (500, {}, b"boom"))
        with pytest.raises(CommandError, match=r"HTTP 500.*boom") as failed:
            call_command("send_test_webhook", str(endpoint.pk))
        assert failed.value.returncode == 1
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_reason == "410"  # no health effect


def test_refused_address_and_unknown_endpoint(acme, settings):
    endpoint = endpoint_create(customer=acme, url="http://127.0.0.1:9/in")
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    report = endpoint_send_test(endpoint=endpoint)
    assert not report.ok and report.status_code is None
    assert "Endpoint refused" in str(report)
    with pytest.raises(CommandError, match="No endpoint 99999"):
        call_command("send_test_webhook", "99999")


def test_admin_action_reports_the_answer(acme):
    with Receiver(secret=acme.secret) as receiver:
        endpoint = endpoint_create(customer=acme, url=receiver.url)
        client = Client()
        client.force_login(staff("op", "Operators"))
        response = client.post(
            "/admin/customers/endpoint/",
            {"action": "send_test_webhook", "_selected_action": [endpoint.pk]},
            follow=True,
        )
        assert receiver.wait_for(1, timeout=5)
    assert response.status_code == 200
    text = [str(m) for m in response.context["messages"]]
    assert any("HTTP 204" in t for t in text), text
    assert receiver.requests[0].verified is True
    entry = LogEntry.objects.get(object_id=str(endpoint.pk))
    assert entry.user.username == "op" and "Test webhook msg_" in entry.change_message
    assert "HTTP 204" in entry.change_message
