"""The customer admin: scope, the secret for those allowed (recorded), rotation, endpoints."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User

from customers.models import Customer, Endpoint
from customers.services import customer_create, endpoint_create, environment_apply
from tests.users import staff
from tests.webhooks.factories import make_batch, make_deliveries
from valify.timefmt import console_time
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


def test_secret_view_needs_view_secret_and_is_recorded(client, acme):
    operator = staff("op", "Operators")
    client.force_login(operator)
    url = f"/admin/customers/customer/{acme.pk}/secret/"
    assert client.get(url).status_code == 403
    operator.user_permissions.add(Permission.objects.get(codename="view_secret"))
    operator = User.objects.get(pk=operator.pk)
    client.force_login(operator)
    page = client.get(url)
    assert acme.secret in page.content.decode()
    entry = LogEntry.objects.get(object_id=str(acme.pk))
    assert entry.user == operator and "Viewed the signing secret" in entry.change_message
    assert acme.secret not in entry.change_message


def test_scoped_staff_see_only_their_customers(client, acme):
    customer_create(slug="other", name="Other")
    scoped = staff("scoped", "Customer operators")
    acme.members.add(scoped)
    client.force_login(scoped)
    page = client.get("/admin/customers/customer/").content.decode()
    assert "acme" in page and "other" not in page
    other = Customer.objects.get(slug="other")
    assert client.get(f"/admin/customers/customer/{other.pk}/change/").status_code in (302, 404)


def test_rotate_action_asks_first_then_rotates_and_records(client, acme):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    old = acme.secret
    action = {"action": "rotate_secret", "_selected_action": [acme.pk]}

    asked = client.post("/admin/customers/customer/", action)

    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.content.decode()
    assert "stops at once" not in asked.content.decode(), "there is no previous secret to drop"
    acme.refresh_from_db()
    assert acme.secret == old, "nothing is rotated before the operator confirms"
    client.post("/admin/customers/customer/", {**action, "confirmed": "yes"})
    acme.refresh_from_db()
    assert acme.secret != old and acme.previous_secret == old
    assert LogEntry.objects.filter(change_message__contains="Rotated").exists()


def test_customer_added_in_admin_gets_a_secret_and_endpoint_offers_rate_presets(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    form = client.get("/admin/customers/customer/add/").content.decode()
    assert '<datalist id="rate-presets">' in form and 'value="60"' in form
    client.post(
        "/admin/customers/customer/add/",
        {
            "slug": "new",
            "name": "New",
            "is_active": "on",
            "max_leads_per_day": "0",
            "max_open_batches": "0",
            "endpoints-TOTAL_FORMS": "0",
            "endpoints-INITIAL_FORMS": "0",
        },
    )
    assert Customer.objects.get(slug="new").secret.startswith("whsec_")


def test_a_policy_switch_left_empty_says_it_uses_the_setting(client, acme):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    form = client.get(f"/admin/customers/customer/{acme.pk}/change/").content.decode()

    select = form.split('name="dedupe_on_email"')[1].split("</select>")[0]
    assert '<option value="unknown" selected>Use the setting</option>' in select
    assert "Unknown" not in form


def test_environment_endpoint_url_cannot_be_changed_in_admin(client, settings):
    settings.WEBHOOK_URL = "https://env.example/hook"
    environment_apply()
    endpoint = Endpoint.objects.get(is_environment=True)
    client.force_login(User.objects.create_superuser("root", password="pw"))
    response = client.post(
        f"/admin/customers/endpoint/{endpoint.pk}/change/",
        {
            "customer": endpoint.customer_id,
            "url": "https://other.example/hook",
            "rate_limit": "0",
            "is_enabled": "on",
        },
    )
    assert "WEBHOOK_URL" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == "https://env.example/hook"


def test_first_endpoint_added_on_the_customer_page_takes_the_waiting_deliveries(client, acme):
    make_deliveries(2, batch=make_batch(customer=acme))
    client.force_login(User.objects.create_superuser("root", password="pw"))
    response = client.post(
        f"/admin/customers/customer/{acme.pk}/change/",
        {
            "slug": "acme",
            "name": "Acme",
            "is_active": "on",
            "max_leads_per_day": "0",
            "max_open_batches": "0",
            "endpoints-TOTAL_FORMS": "1",
            "endpoints-INITIAL_FORMS": "0",
            "endpoints-0-url": "https://acme.example/hooks",
            "endpoints-0-description": "",
            "endpoints-0-is_enabled": "on",
            "endpoints-0-rate_limit": "5",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = Endpoint.objects.get(customer=acme)
    assert set(Delivery.objects.values_list("customer_endpoint_id", flat=True)) == {endpoint.pk}


def test_first_endpoints_added_together_each_get_the_waiting_deliveries(client, acme):
    make_deliveries(3, batch=make_batch(customer=acme))
    client.force_login(User.objects.create_superuser("root", password="pw"))
    form = {
        "slug": "acme",
        "name": "Acme",
        "is_active": "on",
        "max_leads_per_day": "0",
        "max_open_batches": "0",
        "endpoints-TOTAL_FORMS": "2",
        "endpoints-INITIAL_FORMS": "0",
    }
    for i, url in enumerate(["https://acme.example/a", "https://acme.example/b"]):
        form |= {
            f"endpoints-{i}-url": url,
            f"endpoints-{i}-description": "",
            f"endpoints-{i}-is_enabled": "on",
            f"endpoints-{i}-rate_limit": "5",
        }
    response = client.post(f"/admin/customers/customer/{acme.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    endpoints = set(Endpoint.objects.filter(customer=acme).values_list("pk", flat=True))
    rows = list(
        Delivery.objects.values_list("customer_endpoint_id", "lead_key", "msg_id", "status")
    )
    assert len(rows) == 6
    # Each waiting lead once per endpoint, each copy under its own webhook id, still waiting.
    for endpoint_pk in endpoints:
        assert len({key for ep, key, _, _ in rows if ep == endpoint_pk}) == 3
    assert len({msg for _, _, msg, _ in rows}) == 6
    assert {status for *_, status in rows} == {"scheduled"}


def test_a_further_endpoint_added_later_takes_no_copies(client, acme):
    make_deliveries(2, batch=make_batch(customer=acme))
    client.force_login(User.objects.create_superuser("root", password="pw"))
    first = endpoint_create(customer=acme, url="https://acme.example/a")
    endpoint_create(customer=acme, url="https://acme.example/b")

    assert set(Delivery.objects.values_list("customer_endpoint_id", flat=True)) == {first.pk}


def test_operator_sets_which_supplier_columns_the_payloads_carry(client, acme):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    page = client.get(f"/admin/customers/customer/{acme.pk}/change/").content.decode()
    assert 'name="send_extra"' in page

    response = client.post(
        f"/admin/customers/customer/{acme.pk}/change/",
        {
            "slug": "acme",
            "name": "Acme",
            "is_active": "on",
            "max_leads_per_day": "0",
            "max_open_batches": "0",
            "send_extra": "Campaign\r\nAgent",
            "endpoints-TOTAL_FORMS": "0",
            "endpoints-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    acme.refresh_from_db()
    assert acme.send_extra.splitlines() == ["Campaign", "Agent"]


def test_admin_refuses_an_alert_email_that_is_not_an_address(client):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    response = client.post(
        "/admin/customers/customer/add/",
        {
            "slug": "new",
            "name": "New",
            "is_active": "on",
            "max_leads_per_day": "0",
            "max_open_batches": "0",
            "alert_emails": "ops@new.example, nobody-here",
            "endpoints-TOTAL_FORMS": "0",
            "endpoints-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Not an e-mail address: nobody-here" in response.content.decode()
    assert not Customer.objects.filter(slug="new").exists()


def test_rotating_again_within_the_period_warns_that_the_older_secret_is_dropped(client, acme):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    action = {"action": "rotate_secret", "_selected_action": [acme.pk], "confirmed": "yes"}
    first = client.post("/admin/customers/customer/", action, follow=True)
    assert not any("dropped" in str(m) for m in first.context["messages"])
    asked = client.post("/admin/customers/customer/", {**action, "confirmed": ""})
    assert "stops at once" in asked.content.decode(), "the page says the previous one is dropped"
    second = client.post("/admin/customers/customer/", action, follow=True)
    [message] = list(second.context["messages"])
    assert message.level_tag == "warning" and "was dropped" in str(message)
    acme.refresh_from_db()
    assert acme.previous_valid_until is not None
    # As the console shows a time: in TIME_ZONE, to the minute, not Python's repr.
    assert f"keeps signing until {console_time(acme.previous_valid_until)}." in str(message)
    assert "+00:00" not in str(message)


def test_an_endpoints_url_refusal_names_its_url_field(client, acme):
    client.force_login(User.objects.create_superuser("root", password="pw"))

    page = client.post(
        "/admin/customers/endpoint/add/",
        {"customer": acme.pk, "url": "http://hooks.example.com/in", "rate_limit": "0"},
    ).content.decode()

    assert "The URL must be an https URL." in page
    assert "webhook_url" not in page
