"""Receivers' verdicts: reject statuses end a delivery as rejected; 410 from a batch's URL."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import Endpoint
from customers.services import environment_apply
from tests.webhooks.factories import make_batch, make_deliveries
from valify import settings as project_settings
from webhooks.models import FINAL_STATUSES, Delivery, DeliveryAttempt, DeliveryStatus
from webhooks.selectors import LEAD_STATUS_ORDER, batch_rejection_reasons
from webhooks.services import deliveries_sweep
from webhooks.verdicts import DEFAULT_REJECT_STATUSES, rejection_reason

pytestmark = pytest.mark.django_db


def refreshed(delivery: Delivery) -> Delivery:
    delivery.refresh_from_db()
    return delivery


def test_the_setting_defaults_to_the_constant():
    assert project_settings.WEBHOOK_REJECT_STATUSES == DEFAULT_REJECT_STATUSES == (409, 422)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"reason": "duplicate lead", "detail": "x"}', "duplicate lead"),
        ('{"detail": "postcode outside our area"}', "postcode outside our area"),
        ('{"error": "unknown product"}', "unknown product"),
        ('{"reason": 42, "error": "bad dob"}', "bad dob"),
        ('{"message": "nope"}', '{"message": "nope"}'),
        ("[1, 2]", "[1, 2]"),
        ("plain words " * 40, ("plain words " * 40).strip()[:200]),
        ("", ""),
    ],
)
def test_the_reason_is_the_json_field_else_the_start_of_the_body(body, reason):
    assert rejection_reason(body) == reason


@pytest.mark.parametrize("status", [409, 422])
def test_a_reject_status_ends_the_delivery_as_rejected_with_the_reason(sending, receiver, status):
    body = json.dumps({"reason": "lead already bought"}).encode()
    receiver.set_responder(lambda request: (status, {"Retry-After": "5"}, body))
    [delivery] = make_deliveries(1)

    stats = deliveries_sweep()

    delivery = refreshed(delivery)
    assert stats["rejected"] == 1 and stats["retrying"] == 0
    assert delivery.status == DeliveryStatus.REJECTED
    assert delivery.rejected_reason == "lead already bought"
    assert delivery.last_status_code == status
    assert delivery.attempts == 1
    assert DeliveryAttempt.objects.get(delivery=delivery).status_code == status
    receiver.clear()
    assert deliveries_sweep()["claimed"] == 0  # final: never retried
    assert receiver.requests == []


def test_statuses_outside_the_setting_are_retried(sending, receiver):
    sending.WEBHOOK_REJECT_STATUSES = (400,)
    receiver.set_responder(lambda request: (409, {}, b'{"reason": "dup"}'))
    [first] = make_deliveries(1)

    deliveries_sweep()
    assert refreshed(first).status == DeliveryStatus.RETRYING
    assert refreshed(first).rejected_reason == ""

    receiver.set_responder(lambda request: (400, {}, b"missing field: dob"))
    Delivery.objects.filter(pk=first.pk).update(next_attempt_at=first.due_at)
    deliveries_sweep()
    assert refreshed(first).status == DeliveryStatus.REJECTED
    assert refreshed(first).rejected_reason == "missing field: dob"


def test_rejected_is_final_counted_and_listed_with_its_reasons(sending, receiver, admin_client):
    answers = iter([b'{"reason": "duplicate"}', b'{"reason": "duplicate"}', b"out of area"])
    receiver.set_responder(lambda request: (422, {}, next(answers)))
    batch = make_batch(batch_id="batch_rejected0001")
    make_deliveries(3, batch=batch)
    deliveries_sweep()

    assert DeliveryStatus.REJECTED in FINAL_STATUSES
    assert LEAD_STATUS_ORDER.index("rejected") == 1
    assert batch_rejection_reasons(batch_pk=batch.pk) == [
        {"reason": "duplicate", "count": 2},
        {"reason": "out of area", "count": 1},
    ]
    answer = admin_client.get(reverse("api:webhook_status", args=[batch.batch_id]))
    assert answer.json()["deliveries"]["rejected"] == 3
    page = admin_client.get(reverse("admin:batches_batchjob_change", args=[batch.pk]))
    html = page.content.decode()
    assert 'id="batch-rejections"' in html
    assert "<td>duplicate</td><td>2</td>" in html
    assert "<td>out of area</td><td>1</td>" in html
    dashboard = admin_client.get("/admin/").content.decode()
    assert 'data-figure="rejected_recent">3<' in dashboard


def test_an_operator_resends_rejected_deliveries(sending, receiver):
    receiver.set_responder(lambda request: (409, {}, b"dup"))
    batch = make_batch(batch_id="batch_rejected0002")
    [delivery] = make_deliveries(1, batch=batch)
    deliveries_sweep()

    call_command("resend_webhooks", "--batch", batch.batch_id, "--status", "rejected")

    resent = Delivery.objects.get(resend_of=delivery)
    assert resent.status == DeliveryStatus.SCHEDULED and resent.rejected_reason == ""


def test_410_from_a_batchs_own_url_fails_its_open_deliveries_there(sending, receiver):
    sending.WEBHOOK_URL = ""
    sending.WEBHOOK_REJECT_STATUSES = (409, 410, 422)  # 410 wins over the reject statuses
    receiver.set_responder(lambda request: (410, {}, b"gone"))
    batch = make_batch(batch_id="batch_gone0000001", webhook_url=receiver.url)
    other = make_batch(batch_id="batch_gone0000002", webhook_url=receiver.url + "other")
    deliveries = make_deliveries(3, batch=batch)
    later = make_deliveries(1, batch=batch, due=deliveries[0].due_at.replace(year=2099))
    [elsewhere] = make_deliveries(1, batch=other, due=deliveries[0].due_at.replace(year=2099))

    stats = deliveries_sweep()

    assert len(receiver.requests) == 1  # no further request once the URL said it is gone
    for delivery in [*deliveries, *later]:
        delivery = refreshed(delivery)
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.last_error == "410 Gone"
        assert delivery.lease_token is None
    assert stats["failed"] == 4 and stats["rejected"] == 0
    attempted = [refreshed(d) for d in deliveries]
    assert sorted(d.attempts for d in attempted) == [0, 0, 1]  # the others used no attempt
    assert refreshed(elsewhere).status == DeliveryStatus.SCHEDULED


def test_410_from_the_environment_endpoint_disables_it_until_an_operator_re_enables_it(
    sending, receiver
):
    receiver.set_responder(lambda request: (410, {}, b"gone"))
    endpoint = Endpoint.objects.get(customer=environment_apply(), is_environment=True)
    first, second = make_deliveries(2, customer_endpoint=endpoint)

    deliveries_sweep()
    environment_apply()  # a restart, WEBHOOK_URL unchanged

    endpoint.refresh_from_db()
    assert (endpoint.is_enabled, endpoint.disabled_reason) == (False, "410 Gone")
    assert len(receiver.requests) == 1
    assert {refreshed(first).status, refreshed(second).status} == {DeliveryStatus.SCHEDULED}


def test_410_to_the_environment_url_is_retried_by_a_delivery_bound_to_no_endpoint(
    sending, receiver
):
    receiver.set_responder(lambda request: (410, {}, b"gone"))
    first, second = make_deliveries(2)

    deliveries_sweep()

    assert refreshed(first).status == DeliveryStatus.RETRYING
    assert refreshed(second).status == DeliveryStatus.RETRYING
