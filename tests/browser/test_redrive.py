"""An operator re-drives a customer's failed deliveries through a real browser: the button on
the deliveries list, the dry run with its time per endpoint, then the re-send."""

import pytest
from django.contrib.auth.models import Group, User

from customers.services import customer_create, endpoint_create
from tests.webhooks.factories import make_batch, make_deliveries
from webhooks.models import Delivery, DeliveryStatus

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_operator_counts_then_redrives_failed_deliveries(page, live_server, screenshot):
    acme = customer_create(slug="acme", name="Acme").customer
    endpoint = endpoint_create(customer=acme, url="https://acme.example/hooks", rate_limit=2)
    failed = make_deliveries(6, batch=make_batch(customer=acme), status=DeliveryStatus.FAILED)
    Delivery.objects.filter(pk__in=[d.pk for d in failed]).update(
        customer_endpoint=endpoint, last_error="HTTP 503"
    )
    make_deliveries(2, batch=make_batch(), status=DeliveryStatus.FAILED)  # default's: left
    user = User.objects.create_user("op", password="pw-e2e-123456", is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "op")
    page.fill("#id_password", "pw-e2e-123456")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/webhooks/delivery/")
    page.click("a.redrive")
    page.select_option("#id_customer", "acme")
    page.fill("#id_error", "503")
    page.click("#redrive-count")

    summary = page.locator("#redrive-summary").inner_text()
    assert summary == "6 deliveries would be re-sent, taking about 3 s."
    assert "https://acme.example/hooks" in page.locator("#redrive-estimate").inner_text()
    screenshot(page, "redrive.png")
    assert Delivery.objects.count() == 8

    page.click("#redrive-submit")
    page.wait_for_url("**/admin/webhooks/delivery/?resend=yes")
    assert "6 deliveries queued to be re-sent." in page.locator(".messagelist").inner_text()
    resent = Delivery.objects.filter(resend_of__isnull=False)
    assert sorted(resent.values_list("resend_of", flat=True)) == [d.pk for d in failed]
