"""Re-drive deliveries: a dry run counting per endpoint with the time at its rate, then the
re-send on confirm, within the user's customers, recorded in history."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.utils import timezone

from customers.models import Endpoint
from customers.services import customer_create, endpoint_create
from tests.users import staff
from tests.webhooks.factories import SECRET, make_batch, make_deliveries
from webhooks.admin_redrive import duration_text
from webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db

REDRIVE = "/admin/webhooks/delivery/redrive/"


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


@pytest.fixture
def endpoints(acme):
    one = endpoint_create(customer=acme, url="https://one.example/hooks", rate_limit=5)
    two = endpoint_create(customer=acme, url="https://two.example/hooks", rate_limit=0)
    return one, two


def _to(endpoint, n, *, batch, status=DeliveryStatus.FAILED, **fields):
    made = make_deliveries(n, batch=batch, status=status, **fields)
    Delivery.objects.filter(pk__in=[d.pk for d in made]).update(customer_endpoint=endpoint)
    return made


@pytest.fixture
def operator(client):
    client.force_login(staff("op", "Operators"))
    return client


def test_dry_run_counts_per_endpoint_with_the_time_at_its_rate(operator, acme, endpoints):
    one, two = endpoints
    batch = make_batch(customer=acme)
    _to(one, 10, batch=batch)
    _to(two, 3, batch=batch)
    _to(one, 2, batch=batch, status=DeliveryStatus.DELIVERED)

    page = operator.get(REDRIVE, {"customer": "acme", "status": "failed"})

    assert page.status_code == 200
    assert page.context["total"] == 13
    rows = {row["endpoint"]: row for row in page.context["estimate"]}
    assert (rows[one.pk]["count"], rows[one.pk]["time"]) == (10, "2 s")  # 10 at 5/s
    assert (rows[two.pk]["count"], rows[two.pk]["time"]) == (3, "unlimited")
    assert page.context["total_time"] == "2 s"
    assert 'value="Re-send 13 deliveries"' in page.content.decode()
    assert Delivery.objects.count() == 15  # a dry run changes nothing


def test_dry_run_with_no_limited_endpoint_says_so(operator, acme, endpoints):
    _, two = endpoints
    _to(two, 3, batch=make_batch(customer=acme))

    page = operator.get(REDRIVE, {"customer": "acme", "status": "failed"}).content.decode()

    assert (
        "3 deliveries would be re-sent, as fast as their endpoints answer (none has a rate limit)."
        in page
    )


def test_confirm_resends_what_the_filters_choose_and_records_each(operator, acme, endpoints):
    one, two = endpoints
    batch = make_batch(customer=acme)
    chosen = _to(one, 3, batch=batch)
    _to(two, 2, batch=batch)

    response = operator.post(REDRIVE, {"endpoint": one.pk, "status": "failed"})

    assert response.status_code == 302 and response["Location"].endswith("?resend=yes")
    resent = Delivery.objects.filter(resend_of__isnull=False)
    assert sorted(resent.values_list("resend_of", flat=True)) == [d.pk for d in chosen]
    assert {d.status for d in resent} == {DeliveryStatus.SCHEDULED}
    assert {d.customer_endpoint_id for d in resent} == {one.pk}
    entries = LogEntry.objects.filter(object_id__in=[str(d.pk) for d in chosen])
    assert entries.count() == 3
    assert all("Re-drive deliveries: endpoint" in e.change_message for e in entries)
    new_ids = set(resent.values_list("msg_id", flat=True))
    assert {e.change_message.split()[2] for e in entries} == new_ids

    again = operator.post(REDRIVE, {"endpoint": one.pk, "status": "failed"})  # nothing left
    assert again.status_code == 302
    assert Delivery.objects.filter(resend_of__isnull=False).count() == 3


def test_filters_status_error_batch_and_time_combine(operator, acme, endpoints):
    one, _ = endpoints
    batch, other_batch = make_batch(customer=acme), make_batch(customer=acme)
    _to(one, 2, batch=batch, last_error="HTTP 503 from receiver")
    _to(one, 1, batch=batch, last_error="Connection refused")
    _to(one, 4, batch=other_batch, last_error="HTTP 503 from receiver")
    _to(one, 2, batch=batch, status=DeliveryStatus.REJECTED, rejected_reason="Duplicate lead")
    _to(one, 1, batch=batch, status=DeliveryStatus.CANCELLED)
    old = _to(one, 1, batch=batch, last_error="HTTP 503 from receiver")
    Delivery.objects.filter(pk=old[0].pk).update(created_at=timezone.now() - timedelta(days=3))
    since = timezone.localtime(timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    def total(**filters) -> int:
        page = operator.get(REDRIVE, {"status": "failed", **filters})
        assert page.status_code == 200, page.content
        return page.context["total"]

    assert total() == 8
    assert total(error="http 503") == 7
    assert total(error="http 503", batch=batch.batch_id) == 3
    assert total(error="http 503", batch=batch.batch_id, since=since) == 2
    assert total(until=since) == 1
    assert total(status="rejected", error="duplicate") == 2
    assert total(status="cancelled") == 1
    assert total(status="any") == 11


def test_bad_filters_are_refused_with_the_reason(operator, acme):
    page = operator.get(REDRIVE, {"batch": "batch_000000000bad", "status": "failed"})
    assert "Unknown batch" in page.content.decode() and page.context["estimate"] is None

    page = operator.get(
        REDRIVE, {"status": "failed", "since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}
    )
    assert "must be before" in page.content.decode()

    response = operator.post(REDRIVE, {"status": "scheduled"})  # an open status is no choice
    assert response.status_code == 200 and not Delivery.objects.exists()


def test_scoped_staff_count_and_resend_only_their_customers(client, acme, endpoints):
    one, _ = endpoints
    other = customer_create(slug="other", name="Other").customer
    mine = _to(one, 2, batch=make_batch(customer=acme))
    their_batch = make_batch(customer=other)
    make_deliveries(3, batch=their_batch, status=DeliveryStatus.FAILED)
    member = staff("member", "Customer operators")
    acme.members.add(member)
    client.force_login(member)

    page = client.get(REDRIVE, {"status": "failed"})
    assert page.context["total"] == 2
    assert "other" not in [c.slug for c in page.context["form"].fields["customer"].queryset]
    assert "Select a valid choice" in client.get(REDRIVE, {"customer": "other"}).content.decode()
    their = client.get(REDRIVE, {"batch": their_batch.batch_id, "status": "failed"})
    assert "Unknown batch" in their.content.decode()

    client.post(REDRIVE, {"status": "failed"})
    resent = Delivery.objects.filter(resend_of__isnull=False)
    assert sorted(resent.values_list("resend_of", flat=True)) == [d.pk for d in mine]


def test_needs_the_resend_permission(client):
    client.force_login(staff("view", "Viewers"))
    assert client.get(REDRIVE).status_code == 403
    assert client.post(REDRIVE, {"status": "failed"}).status_code == 403
    assert "Re-drive deliveries" not in client.get("/admin/webhooks/delivery/").content.decode()

    client.force_login(staff("op", "Operators"))
    listing = client.get("/admin/webhooks/delivery/").content.decode()
    assert f'href="{REDRIVE}"' in listing


def test_resend_to_a_disabled_endpoint_waits(operator, acme, settings, receiver):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_SECRET = SECRET
    endpoint = endpoint_create(customer=acme, url=receiver.url)
    batch = make_batch(customer=acme)
    _to(endpoint, 2, batch=batch)
    Endpoint.objects.filter(pk=endpoint.pk).update(is_enabled=False, disabled_reason="410 Gone")

    page = operator.get(REDRIVE, {"customer": "acme", "status": "failed"})
    assert "disabled: these wait until it is re-enabled" in page.content.decode()
    operator.post(REDRIVE, {"customer": "acme", "status": "failed"})
    call_command("sweep_webhooks", stdout=StringIO(), stderr=StringIO())

    resent = Delivery.objects.filter(resend_of__isnull=False)
    assert resent.count() == 2
    assert {(d.status, d.attempts) for d in resent} == {(DeliveryStatus.SCHEDULED, 0)}
    assert receiver.request_count == 0


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "unlimited"),
        (0, "0 s"),
        (0.2, "1 s"),
        (59.6, "1 min"),
        (125, "2 min 5 s"),
        (3600, "1 h"),
        (3725, "1 h 2 min 5 s"),
    ],
)
def test_duration_text(seconds, shown):
    assert duration_text(seconds) == shown


def test_confirm_says_when_the_count_changed_since_the_dry_run(operator, acme, endpoints):
    one, _ = endpoints
    _to(one, 2, batch=make_batch(customer=acme))
    page = operator.get(REDRIVE, {"status": "failed"})
    assert 'name="counted" value="2"' in page.content.decode()
    _to(one, 1, batch=make_batch(customer=acme))  # failed meanwhile

    response = operator.post(REDRIVE, {"status": "failed", "counted": "2"}, follow=True)

    [message] = [str(m) for m in response.context["messages"] if "queued" in str(m)]
    assert message == (
        "3 deliveries queued to be re-sent. The dry run had counted 2: they changed meanwhile."
    )
