"""Alerts: written with their event, mailed through a real SMTP server after commit."""

from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from alerts.models import Alert, AlertKind, AlertThrottle
from alerts.services import (
    alert_recipients,
    alerts_send_unsent,
    deliveries_failed_alert,
    endpoint_disabled_alert,
)
from batches.models import BatchJob, BatchStatus
from batches.services import batch_fail
from tests.mailserver import Inbox

pytestmark = pytest.mark.django_db


def _pending_batch() -> BatchJob:
    return BatchJob.objects.create(status=BatchStatus.PROCESSING)


def _mail(envelope):
    return message_from_bytes(envelope.content, policy=policy.default)


def test_recipients_are_the_alert_emails_setting(settings):
    settings.ALERT_EMAILS = ["a@example.com"]
    assert alert_recipients(None) == ["a@example.com"]


def test_a_failed_batch_is_mailed_right_after_commit(
    smtp_server, django_capture_on_commit_callbacks
):
    batch = _pending_batch()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert batch_fail(batch_pk=batch.pk, reason="Could not read the upload: bad zip")
        assert smtp_server.messages == []  # nothing goes out before the commit

    assert len(callbacks) == 1
    assert smtp_server.wait(1)
    [envelope] = smtp_server.messages
    assert sorted(envelope.rcpt_tos) == ["oncall@example.com", "ops@example.com"]
    assert envelope.mail_from == "valify@example.com"
    mail = _mail(envelope)
    assert mail["Subject"] == f"Batch {batch.batch_id} failed"
    assert "Could not read the upload: bad zip" in mail.get_content()
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.BATCH_FAILED and alert.sent_at is not None
    assert alert.tries == 1


def test_no_alert_without_recipients(settings, django_capture_on_commit_callbacks):
    settings.ALERT_EMAILS = []
    batch = _pending_batch()
    with django_capture_on_commit_callbacks(execute=True):
        batch_fail(batch_pk=batch.pk, reason="broken")
    assert not Alert.objects.exists()


def test_a_mail_failure_is_logged_and_retried_by_the_sweep(
    mail_settings, smtp_port, django_capture_on_commit_callbacks, caplog
):
    batch = _pending_batch()

    # Nothing listens on the port yet: the batch still fails, the alert waits.
    with django_capture_on_commit_callbacks(execute=True):
        assert batch_fail(batch_pk=batch.pk, reason="broken")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    alert = Alert.objects.get()
    assert alert.sent_at is None and alert.tries == 1
    assert "ConnectionRefusedError" in alert.last_error
    assert "alerts.send_failed" in caplog.text

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        assert alerts_send_unsent() == {"written": 0, "sent": 0, "unsent": 0}  # too recent
        Alert.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        assert alerts_send_unsent() == {"written": 0, "sent": 1, "unsent": 0}
        assert inbox.wait(1)
        assert alerts_send_unsent()["sent"] == 0  # sent once only
    finally:
        controller.stop()
    alert.refresh_from_db()
    assert alert.sent_at is not None and alert.tries == 2 and alert.last_error == ""


def test_the_sweep_with_the_mail_server_down_reports_and_does_not_raise(mail_settings):
    Alert.objects.create(
        kind=AlertKind.BATCH_FAILED, subject="s", body="b", recipients="ops@example.com"
    )
    Alert.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    assert alerts_send_unsent() == {"written": 0, "sent": 0, "unsent": 1}


def test_deliveries_failed_alerts_are_one_per_url_per_hour_with_counts(
    smtp_server, django_capture_on_commit_callbacks
):
    url = "https://receiver.example.com/hook"
    to = ["ops@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_failed_alert(url=url, count=3, recipients=to) is not None
        assert deliveries_failed_alert(url=url, count=2, recipients=to) is None  # held back
        assert deliveries_failed_alert(url=url, count=4, recipients=to) is None
        other = deliveries_failed_alert(url=url + "2", count=1, recipients=to)
        assert other is not None  # another endpoint has its own hour
    assert smtp_server.wait(2)
    subjects = sorted(_mail(e)["Subject"] for e in smtp_server.messages)
    assert subjects == [
        f"1 webhook delivery failed for good: {url}2",
        f"3 webhook deliveries failed for good: {url}",
    ]
    assert AlertThrottle.objects.get(about=url).pending == 6

    # Within the hour the sweep writes nothing; after it, the held-back count goes out.
    assert alerts_send_unsent()["written"] == 0
    AlertThrottle.objects.filter(about=url).update(last_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_send_unsent()["written"] == 1
    assert smtp_server.wait(3)
    assert _mail(smtp_server.messages[2])["Subject"] == (
        f"6 webhook deliveries failed for good: {url}"
    )
    assert AlertThrottle.objects.get(about=url).pending == 0


def test_the_next_failure_after_the_hour_carries_the_held_back_count(mail_settings):
    url = "https://receiver.example.com/hook"
    to = ["ops@example.com"]
    deliveries_failed_alert(url=url, count=1, recipients=to)
    deliveries_failed_alert(url=url, count=5, recipients=to)
    AlertThrottle.objects.update(last_at=timezone.now() - timedelta(minutes=61))

    alert = deliveries_failed_alert(url=url, count=2, recipients=to)

    assert alert.subject == f"7 webhook deliveries failed for good: {url}"


def test_endpoint_disabled_alert(smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        endpoint_disabled_alert(
            url="https://gone.example.com/",
            customer="Acme Leads (acme)",
            reason="410 Gone",
            recipients=["a@example.com"],
        )
    assert smtp_server.wait(1)
    mail = _mail(smtp_server.messages[0])
    assert (
        mail["Subject"]
        == "Webhook endpoint of Acme Leads (acme) disabled: https://gone.example.com/"
    )
    assert "410 Gone" in mail.get_content()


def test_the_console_lists_alerts_read_only(admin_client):
    Alert.objects.create(
        kind=AlertKind.BATCH_FAILED, subject="Batch x failed", body="b", recipients="a@b.c"
    )
    page = admin_client.get("/admin/alerts/alert/")
    assert page.status_code == 200 and "Batch x failed" in page.content.decode()
    assert admin_client.get("/admin/alerts/alert/add/").status_code == 403


def test_a_failed_batch_is_mailed_to_its_customers_alert_emails_too(
    smtp_server, django_capture_on_commit_callbacks
):
    from customers.services import customer_create

    acme = customer_create(slug="acme", name="Acme", alert_emails=["leads@acme.example"])
    batch = BatchJob.objects.create(status=BatchStatus.PROCESSING, customer=acme.customer)

    with django_capture_on_commit_callbacks(execute=True):
        assert batch_fail(batch_pk=batch.pk, reason="Could not read the upload")

    assert smtp_server.wait(1)
    [envelope] = smtp_server.messages
    assert sorted(envelope.rcpt_tos) == [
        "leads@acme.example",
        "oncall@example.com",
        "ops@example.com",
    ]


def test_administrators_see_alerts_and_staff_scoped_to_customers_never(client):
    from django.contrib.auth.models import Permission

    from tests.users import staff

    Alert.objects.create(
        kind=AlertKind.BATCH_FAILED, subject="Batch y failed", body="b", recipients="a@b.c"
    )
    client.force_login(staff("boss", "Administrators"))
    page = client.get("/admin/alerts/alert/")
    assert page.status_code == 200 and "Batch y failed" in page.content.decode()
    scoped = staff("scoped", "Customer operators")
    scoped.user_permissions.add(*Permission.objects.filter(content_type__app_label="alerts"))
    client.force_login(scoped)
    assert client.get("/admin/alerts/alert/").status_code == 403
    assert "Batch y failed" not in client.get("/admin/").content.decode()
