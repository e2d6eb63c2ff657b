"""Every batch belongs to a customer: the API, import_batch, the admin form and the quotas."""

import json

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from api.models import ApiToken
from batches.models import BatchJob, BatchStatus, PendingUpload
from customers.models import Customer
from customers.services import customer_create

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\n"


def token_for(group: str = "Operators", *, customer=None) -> tuple[User, dict]:
    user = User.objects.create_user(f"u-{group}-{customer}", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    _, plain = ApiToken.issue(name="script", user=user, customer=customer)
    return user, {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def upload(headers: dict, **fields):
    return Client().post(
        "/upload_batch", {"file": SimpleUploadedFile("leads.csv", CSV), **fields}, **headers
    )


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


def test_upload_without_customer_goes_to_default():
    _, headers = token_for()
    assert upload(headers).status_code == 201
    assert BatchJob.objects.get().customer.slug == "default"


def test_upload_names_a_customer(acme):
    _, headers = token_for()
    assert upload(headers, customer="acme").status_code == 201
    assert BatchJob.objects.get().customer == acme


def test_unknown_customer_is_refused_and_nothing_stored():
    _, headers = token_for()
    response = upload(headers, customer="nobody")
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_customer"
    assert not BatchJob.objects.exists()


def test_scoped_token_uploads_to_its_customer_and_cannot_name_another(acme):
    _, headers = token_for(customer=acme)
    assert upload(headers).status_code == 201
    assert BatchJob.objects.get().customer == acme
    refused = upload(headers, customer="default")
    assert refused.status_code == 400
    assert refused.json()["error"] == "unknown_customer"


def test_scoped_staff_cannot_upload_to_a_customer_they_are_not_member_of(acme):
    user, headers = token_for("Customer operators")
    assert upload(headers, customer="acme").json()["error"] == "unknown_customer"
    acme.members.add(user)
    assert upload(headers).status_code == 201  # their only customer
    assert BatchJob.objects.get().customer == acme


def test_inactive_customer_refuses_uploads(acme):
    Customer.objects.filter(pk=acme.pk).update(is_active=False)
    _, headers = token_for()
    response = upload(headers, customer="acme")
    assert response.json()["error"] == "customer_inactive"
    assert not BatchJob.objects.exists()


def test_leads_per_day_quota_names_quota_amount_and_reset(acme):
    Customer.objects.filter(pk=acme.pk).update(max_leads_per_day=3)
    _, headers = token_for()
    assert upload(headers, customer="acme").status_code == 201
    refused = upload(headers, customer="acme")
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "quota_exceeded"
    assert "max_leads_per_day" in body["detail"]
    assert "2 of 3" in body["detail"]
    assert "resets at" in body["detail"]
    assert BatchJob.objects.count() == 1
    # Another customer's quota is its own.
    assert upload(headers).status_code == 201


def test_open_batches_quota_counts_pending_and_processing(acme):
    Customer.objects.filter(pk=acme.pk).update(max_open_batches=1)
    _, headers = token_for()
    assert upload(headers, customer="acme").status_code == 201
    assert upload(headers, customer="acme").json()["error"] == "quota_exceeded"
    BatchJob.objects.update(status=BatchStatus.COMPLETED)
    assert upload(headers, customer="acme").status_code == 201


def test_import_batch_customer_option(acme, tmp_path, capsys):
    leads = tmp_path / "leads.csv"
    leads.write_bytes(CSV)
    call_command("import_batch", str(leads), "--customer", "acme", "--json")
    assert BatchJob.objects.get().customer == acme
    with pytest.raises(CommandError) as refused:
        call_command("import_batch", str(leads), "--customer", "nobody")
    assert refused.value.returncode == 1
    assert "unknown_customer" in str(refused.value)
    assert json.loads(capsys.readouterr().out)["batch_id"]


def test_admin_upload_form_offers_the_users_customers(client, acme):
    user = User.objects.create_user("scoped", is_staff=True)
    user.groups.add(Group.objects.get(name="Customer operators"))
    acme.members.add(user)
    client.force_login(user)
    page = client.get("/admin/batches/batchjob/add/").content.decode()
    assert 'value="acme" selected' in page
    assert 'value="default"' not in page
    client.post(
        "/admin/batches/batchjob/add/",
        {"files": [SimpleUploadedFile("a.csv", CSV, content_type="text/csv")]},
    )
    pending = PendingUpload.objects.get()
    assert pending.customer == acme
    client.post("/admin/batches/batchjob/add/", {"token": pending.token, "_confirm": "1"})
    assert BatchJob.objects.get().customer == acme


def test_admin_upload_refuses_over_quota_before_storing(client, acme):
    Customer.objects.filter(pk=acme.pk).update(max_leads_per_day=1)
    user = User.objects.create_user("op", is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))
    client.force_login(user)
    response = client.post(
        "/admin/batches/batchjob/add/",
        {"customer": "acme", "files": [SimpleUploadedFile("a.csv", CSV, content_type="text/csv")]},
    )
    assert "max_leads_per_day" in response.content.decode()
    assert not PendingUpload.objects.exists()


def test_batch_page_and_dashboard_show_the_customer(client, acme):
    _, headers = token_for()
    upload(headers, customer="acme")
    client.force_login(User.objects.create_superuser("root", password="pw"))
    batch = BatchJob.objects.get()
    assert "acme" in client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    assert "acme: 1 open" in client.get("/admin/").content.decode()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"max_leads_per_day": 1}, "quota_exceeded"),
        ({"max_open_batches": 1}, "quota_exceeded"),
        ({"is_active": False}, "customer_inactive"),
    ],
)
def test_import_batch_exits_1_on_a_quota_or_an_inactive_customer(acme, tmp_path, change, code):
    leads = tmp_path / "leads.csv"
    leads.write_bytes(CSV)
    if "max_open_batches" in change:
        call_command("import_batch", str(leads), "--customer", "acme", "--json")
    Customer.objects.filter(pk=acme.pk).update(**change)
    before = BatchJob.objects.count()
    with pytest.raises(CommandError) as refused:
        call_command("import_batch", str(leads), "--customer", "acme")
    assert refused.value.returncode == 1
    assert code in str(refused.value)
    assert BatchJob.objects.count() == before


def test_staff_scoped_to_several_customers_or_none_must_name_one(acme):
    other = customer_create(slug="other", name="Other").customer
    user, headers = token_for("Customer operators")
    refused = upload(headers)
    assert refused.status_code == 400
    assert refused.json()["error"] == "unknown_customer"  # none of theirs: not `default`
    acme.members.add(user)
    other.members.add(user)
    refused = upload(headers)
    assert refused.json()["error"] == "unknown_customer"
    assert "customer" in refused.json()["detail"]
    assert not BatchJob.objects.exists()
    assert upload(headers, customer="other").status_code == 201
    assert BatchJob.objects.get().customer == other


def test_admin_upload_by_staff_of_several_customers_needs_a_choice(client, acme):
    other = customer_create(slug="other", name="Other").customer
    user = User.objects.create_user("scoped", is_staff=True)
    user.groups.add(Group.objects.get(name="Customer operators"))
    acme.members.add(user)
    other.members.add(user)
    client.force_login(user)
    response = client.post(
        "/admin/batches/batchjob/add/",
        {"files": [SimpleUploadedFile("a.csv", CSV, content_type="text/csv")]},
    )
    assert "Choose the customer these leads belong to." in response.content.decode()
    assert not PendingUpload.objects.exists()
