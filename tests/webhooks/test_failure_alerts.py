"""Deliveries failed for good are mailed: one e-mail per endpoint per hour, with counts."""

from email import message_from_bytes, policy

import pytest

from alerts.models import Alert, AlertKind
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import DeliveryStatus
from webhooks.services import deliveries_sweep

pytestmark = pytest.mark.django_db


def _subject(envelope) -> str:
    return message_from_bytes(envelope.content, policy=policy.default)["Subject"]


def test_deliveries_failed_for_good_are_mailed_once_per_endpoint_per_hour(
    sending, receiver, smtp_server, django_capture_on_commit_callbacks
):
    receiver.set_responder(lambda request: (500, {}, b"down"))
    make_deliveries(3, status=DeliveryStatus.RETRYING, attempts=2)  # the last retry

    with django_capture_on_commit_callbacks(execute=True):
        stats = deliveries_sweep()

    assert stats["failed"] == 3
    assert smtp_server.wait(1)
    assert _subject(smtp_server.messages[0]) == (
        f"3 webhook deliveries of Default (default) failed for good: {receiver.url}"
    )
    make_deliveries(2, status=DeliveryStatus.RETRYING, attempts=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep()["failed"] == 2
    assert Alert.objects.filter(kind=AlertKind.DELIVERIES_FAILED).count() == 1  # held back


def test_retried_and_rejected_deliveries_are_not_alerts(
    sending, receiver, smtp_server, django_capture_on_commit_callbacks
):
    receiver.set_responder(lambda request: (422, {}, b'{"reason": "no"}'))
    make_deliveries(1)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep()["rejected"] == 1
    receiver.set_responder(lambda request: (500, {}, b"down"))
    make_deliveries(1, batch=make_batch(batch_id="batch_retry0000001"))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep()["retrying"] == 1
    assert not Alert.objects.exists()


def test_a_410_from_a_batchs_url_is_one_alert_with_every_failed_delivery(
    sending, receiver, smtp_server, django_capture_on_commit_callbacks
):
    sending.WEBHOOK_URL = ""
    receiver.set_responder(lambda request: (410, {}, b""))
    batch = make_batch(batch_id="batch_gonealert001", webhook_url=receiver.url)
    make_deliveries(4, batch=batch)

    with django_capture_on_commit_callbacks(execute=True):
        deliveries_sweep()

    assert smtp_server.wait(1)
    subjects = sorted(_subject(e) for e in smtp_server.messages)
    # The three failed unsent are counted at once; the answered one is held back by the hour.
    assert subjects == [
        f"3 webhook deliveries of Default (default) failed for good: {receiver.url}"
    ]


def test_the_mail_server_down_never_fails_a_sweep(
    sending, receiver, mail_settings, django_capture_on_commit_callbacks
):
    receiver.set_responder(lambda request: (500, {}, b"down"))
    [delivery] = make_deliveries(1, status=DeliveryStatus.RETRYING, attempts=2)

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep()["failed"] == 1

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    alert = Alert.objects.get()
    assert alert.sent_at is None and alert.last_error


def test_two_customers_sharing_a_receiver_url_are_alerted_apart(
    loopback, smtp_server, django_capture_on_commit_callbacks
):
    from customers.services import customer_create
    from tests.receiver import Receiver

    alerted = {}
    with Receiver() as shared:
        shared.set_responder(lambda request: (500, {}, b"down"))
        for slug, failing in (("acme", 3), ("other", 2)):
            customer = customer_create(slug=slug, name=slug.title()).customer
            customer.alert_emails = f"ops@{slug}.example"
            customer.save()
            batch = make_batch(customer=customer, webhook_url=shared.url)
            make_deliveries(failing, batch=batch, status=DeliveryStatus.RETRYING, attempts=2)
            alerted[f"ops@{slug}.example"] = (
                f"{failing} webhook deliveries of {slug.title()} ({slug}) failed for good"
            )
        with django_capture_on_commit_callbacks(execute=True):
            assert deliveries_sweep()["failed"] == 5

    assert smtp_server.wait(2)
    got = {}
    for envelope in smtp_server.messages:  # ALERT_EMAILS (operators) get both
        [customer_address] = [to for to in envelope.rcpt_tos if to in alerted]
        got[customer_address] = _subject(envelope).split(":")[0]
        # Blind copies: the customer never sees the operators' address, nor they its.
        headers = message_from_bytes(envelope.content, policy=policy.default)
        assert not any(
            address in str(value) for address in envelope.rcpt_tos for value in headers.values()
        )
    assert got == alerted
