"""Webhook admin: deliveries list and log, re-send/cancel actions, batch actions, banner, switch."""

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from customers.models import Customer, Endpoint
from customers.services import customer_create
from tests.users import staff
from tests.webhooks.factories import SECRET, make_batch, make_deliveries
from valify.timefmt import console_time
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookControl

pytestmark = pytest.mark.django_db

DELIVERIES = "/admin/webhooks/delivery/"
BATCHES = "/admin/batches/batchjob/"


@pytest.fixture
def configured(settings):
    settings.WEBHOOK_SECRET = SECRET
    settings.WEBHOOK_URL = "https://hooks.example.com/valify"
    return settings


@pytest.fixture
def operator(client):
    client.force_login(staff("op", "Operators"))
    return client


@pytest.fixture
def viewer(client):
    client.force_login(staff("view", "Viewers"))
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_banner_says_what_keeps_deliveries_waiting(settings, operator):
    settings.WEBHOOK_SECRET = ""
    settings.WEBHOOK_URL = ""

    for url in (DELIVERIES, BATCHES):
        text = " ".join(messages_of(operator.get(url)))
        assert "WEBHOOK_SECRET is not set" in text
        assert "WEBHOOK_URL is not set" in text


def test_no_banner_once_configured(configured, operator):
    assert messages_of(operator.get(DELIVERIES)) == []


def test_banner_names_the_customers_whose_webhooks_wait(configured, operator):
    acme = customer_create(slug="acme", name="Acme").customer  # a secret, no endpoint
    bare = Customer.objects.create(slug="bare", name="Bare")  # neither
    make_deliveries(1, batch=make_batch(customer=acme))
    make_deliveries(1, batch=make_batch(customer=bare))

    text = " ".join(messages_of(operator.get(DELIVERIES)))

    assert "No signing secret: the webhooks of bare wait" in text
    assert "No endpoint: the webhooks of acme, bare wait" in text
    Delivery.objects.update(status=DeliveryStatus.DELIVERED)
    assert messages_of(operator.get(DELIVERIES)) == []


def test_banner_names_the_default_customer_only_to_who_sees_it(settings, client):
    settings.WEBHOOK_SECRET = ""
    settings.WEBHOOK_URL = ""
    acme = Customer.objects.create(slug="acme", name="Acme")  # no secret, no endpoint
    make_deliveries(1, batch=make_batch())  # the default customer's
    make_deliveries(1, batch=make_batch(customer=acme))
    member = staff("acme-op", "Customer operators")
    acme.members.add(member)
    client.force_login(member)

    text = " ".join(messages_of(client.get(DELIVERIES)))

    assert "No signing secret: the webhooks of acme wait" in text
    assert "WEBHOOK_SECRET" not in text and "WEBHOOK_URL" not in text
    assert "default" not in text
    settings.WEBHOOK_SECRET = "whsec_not-base64!"  # malformed: nobody's webhook is sent
    assert "no webhook is sent" in " ".join(messages_of(client.get(DELIVERIES)))


def test_no_webhook_url_banner_once_the_default_customer_has_an_endpoint(settings, operator):
    settings.WEBHOOK_SECRET = SECRET
    settings.WEBHOOK_URL = ""
    default = Customer.objects.get(slug="default")

    assert "has no endpoint" in " ".join(messages_of(operator.get(DELIVERIES)))  # will wait
    [waiting] = make_deliveries(1, batch=make_batch())
    assert "WEBHOOK_URL is not set" in " ".join(messages_of(operator.get(DELIVERIES)))
    endpoint = Endpoint.objects.create(customer=default, url="https://hooks.example.com/d")
    Delivery.objects.filter(pk=waiting.pk).update(
        customer_endpoint=endpoint, status=DeliveryStatus.RETRYING
    )

    assert messages_of(operator.get(DELIVERIES)) == []
    Endpoint.objects.filter(pk=endpoint.pk).update(is_archived=True)
    Delivery.objects.filter(pk=waiting.pk).update(status=DeliveryStatus.DELIVERED)
    assert "will wait" in " ".join(messages_of(operator.get(DELIVERIES)))


@pytest.mark.parametrize("url", [DELIVERIES, BATCHES])
def test_banner_shows_once_after_an_action(settings, operator, url):
    settings.WEBHOOK_SECRET = ""
    settings.WEBHOOK_URL = "https://hooks.example.com/valify"
    [delivery] = make_deliveries(1)
    selected = delivery.pk if url == DELIVERIES else delivery.batch_id
    action = "cancel" if url == DELIVERIES else "resend_failed_webhooks"

    response = operator.post(url, {"action": action, "_selected_action": [selected]}, follow=True)

    shown = messages_of(response)
    assert len([m for m in shown if "WEBHOOK_SECRET is not set" in m]) == 1


def test_an_ended_delivery_shows_no_next_attempt(configured, viewer):
    [ended] = make_deliveries(1, status=DeliveryStatus.FAILED)
    [waiting] = make_deliveries(1, status=DeliveryStatus.RETRYING)

    rows = viewer.get(DELIVERIES).content.decode().split("<tr")[2:]  # newest first

    [waiting_row] = [r for r in rows if waiting.msg_id in r]
    [ended_row] = [r for r in rows if ended.msg_id in r]
    assert 'class="field-next_attempt">-</td>' in ended_row
    assert 'class="field-next_attempt">-</td>' not in waiting_row
    # Its page too, where a method's None was shown as "None" and a time unformatted.
    ended_page = viewer.get(f"{DELIVERIES}{ended.pk}/change/").content.decode()
    waiting_page = viewer.get(f"{DELIVERIES}{waiting.pk}/change/").content.decode()
    assert '<div class="readonly">-</div>' in ended_page.split("Next attempt at")[1][:200]
    assert console_time(waiting.next_attempt_at) in waiting_page
    assert ">None<" not in ended_page


def test_deliveries_list_shows_where_an_unsent_delivery_will_go(configured, viewer):
    acme = customer_create(slug="acme", name="Acme").customer
    one = Endpoint.objects.create(customer=acme, url="https://one.example/hook")
    two = Endpoint.objects.create(customer=acme, url="https://two.example/hook")
    batch = make_batch(customer=acme)
    make_deliveries(1, batch=batch, customer_endpoint=one)
    make_deliveries(1, batch=batch, customer_endpoint=two)
    make_deliveries(1, batch=batch, customer_endpoint=two, endpoint="https://two.example/hook")

    page = viewer.get(DELIVERIES).content.decode()

    assert page.count("https://one.example/hook (not sent yet)") == 1
    assert page.count("https://two.example/hook (not sent yet)") == 1
    assert page.count("https://two.example/hook<") == 1  # the one sent


def test_banner_shows_a_paused_switch(configured, operator):
    WebhookControl.objects.create(pk=1, paused=True)

    assert any("paused" in m for m in messages_of(operator.get(DELIVERIES)))


def test_deliveries_list_shows_status_endpoint_attempts_and_batch(configured, viewer):
    batch = make_batch()
    [delivery] = make_deliveries(1, batch=batch, endpoint="https://hooks.example.com/x")

    page = viewer.get(DELIVERIES).content.decode()

    assert delivery.msg_id in page
    assert batch.batch_id in page
    assert "https://hooks.example.com/x" in page
    filtered = viewer.get(
        DELIVERIES, {"batch__batch_id": batch.batch_id, "status__exact": "scheduled"}
    )
    assert filtered.status_code == 200
    assert delivery.msg_id in filtered.content.decode()


def test_delivery_page_shows_the_attempt_log_read_only(configured, viewer):
    [delivery] = make_deliveries(1, status=DeliveryStatus.RETRYING, attempts=1)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        endpoint="https://hooks.example.com/x",
        started_at=delivery.created_at,
        status_code=503,
        response_excerpt="upstream busy",
    )

    page = viewer.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()

    assert "upstream busy" in page
    assert "503" in page
    assert 'name="attempt_log-0-error"' not in page  # no editable inputs


def test_resend_action_creates_new_deliveries_and_logs_each(configured, operator):
    failed = make_deliveries(2, status=DeliveryStatus.FAILED)
    [open_one] = make_deliveries(1)

    response = operator.post(
        DELIVERIES,
        {"action": "resend", "_selected_action": [d.pk for d in (*failed, open_one)]},
        follow=True,
    )

    assert Delivery.objects.filter(resend_of__isnull=False).count() == 2
    text = " ".join(messages_of(response))
    assert "2 webhooks queued to be re-sent." in text
    assert "1 skipped" in text
    logged = LogEntry.objects.filter(object_id__in=[str(d.pk) for d in failed])
    assert logged.count() == 2
    assert all(entry.get_change_message().startswith("Re-sent as msg_") for entry in logged)


def test_cancel_action_cancels_unsent_and_logs(configured, operator):
    [scheduled] = make_deliveries(1)
    [delivered] = make_deliveries(1, status=DeliveryStatus.DELIVERED)

    response = operator.post(
        DELIVERIES,
        {"action": "cancel", "_selected_action": [scheduled.pk, delivered.pk]},
        follow=True,
    )

    scheduled.refresh_from_db()
    assert scheduled.status == DeliveryStatus.CANCELLED
    assert "1 webhook cancelled." in " ".join(messages_of(response))
    assert LogEntry.objects.filter(object_id=str(scheduled.pk)).exists()
    assert not LogEntry.objects.filter(object_id=str(delivered.pk)).exists()


def test_viewer_has_no_resend_or_cancel(configured, viewer):
    [failed] = make_deliveries(1, status=DeliveryStatus.FAILED)

    page = viewer.get(DELIVERIES).content.decode()
    assert 'value="resend"' not in page and 'value="cancel"' not in page

    viewer.post(DELIVERIES, {"action": "resend", "_selected_action": [failed.pk]})
    assert Delivery.objects.count() == 1


def test_batch_actions_resend_failed_or_all(configured, operator):
    batch = make_batch()
    make_deliveries(1, batch=batch, status=DeliveryStatus.FAILED)
    make_deliveries(2, batch=batch, status=DeliveryStatus.DELIVERED)

    response = operator.post(
        BATCHES, {"action": "resend_failed_webhooks", "_selected_action": [batch.pk]}, follow=True
    )
    assert "1 webhook queued to be re-sent." in " ".join(messages_of(response))
    entry = LogEntry.objects.get(object_id=str(batch.pk))
    assert entry.get_change_message() == "Re-sent 1 failed webhook."

    operator.post(BATCHES, {"action": "resend_all_webhooks", "_selected_action": [batch.pk]})
    # The two delivered ones; the failed one was re-sent already and its re-send is open.
    assert Delivery.objects.filter(batch=batch, resend_of__isnull=False).count() == 3


def test_an_action_from_the_batch_page_goes_back_to_it(configured, operator):
    batch = make_batch()
    make_deliveries(1, batch=batch, status=DeliveryStatus.FAILED)
    page = operator.get(f"{BATCHES}{batch.pk}/change/").content.decode()
    assert f'name="_batch_page" value="{batch.pk}"' in page

    action = {"action": "resend_failed_webhooks", "_selected_action": [batch.pk]}
    from_page = operator.post(BATCHES, {**action, "_batch_page": str(batch.pk)})
    from_list = operator.post(BATCHES, action)

    assert from_page.url == f"{BATCHES}{batch.pk}/change/"
    assert from_list.url == BATCHES


def test_batch_resend_says_why_erased_deliveries_are_not_re_sent(configured, operator):
    batch = make_batch()
    make_deliveries(2, batch=batch, status=DeliveryStatus.DELIVERED)
    make_deliveries(1, batch=batch, status=DeliveryStatus.DELIVERED, erased_at=timezone.now())

    response = operator.post(
        BATCHES, {"action": "resend_all_webhooks", "_selected_action": [batch.pk]}, follow=True
    )

    assert (
        "2 webhooks queued to be re-sent. 1 not re-sent: its person's data was erased"
        in " ".join(messages_of(response))
    )
    assert Delivery.objects.filter(resend_of__erased_at__isnull=False).count() == 0


def test_batch_resend_actions_need_the_permission(configured, viewer):
    batch = make_batch()
    make_deliveries(1, batch=batch, status=DeliveryStatus.FAILED)

    assert 'value="resend_failed_webhooks"' not in viewer.get(BATCHES).content.decode()
    viewer.post(BATCHES, {"action": "resend_failed_webhooks", "_selected_action": [batch.pk]})
    assert Delivery.objects.count() == 1


def test_switch_list_opens_the_single_row(admin_client):
    response = admin_client.get("/admin/webhooks/webhookcontrol/")

    assert response.status_code == 302
    assert response.url == "/admin/webhooks/webhookcontrol/1/change/"
    assert WebhookControl.objects.count() == 1


def test_pausing_is_recorded_with_who_and_when(admin_client, admin_user):
    admin_client.get("/admin/webhooks/webhookcontrol/")

    admin_client.post("/admin/webhooks/webhookcontrol/1/change/", {"paused": "on"})

    control = WebhookControl.objects.get()
    assert control.paused is True
    assert control.updated_by == admin_user and control.updated_at is not None
    assert LogEntry.objects.filter(object_id="1", user=admin_user).exists()


def test_switch_page_shows_the_heartbeat_and_the_sweep_task(admin_client):
    page = admin_client.get("/admin/webhooks/webhookcontrol/1/change/").content.decode()
    assert "Sweep due webhooks" in page
    assert "last sweep" in page.lower()
