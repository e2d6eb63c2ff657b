"""A member of one customer, logged in through a real browser, sees only that customer's batch."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import services
from customers.services import customer_create

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\n"


def test_scoped_user_sees_only_their_customers_batch(page, live_server):
    acme = customer_create(slug="acme", name="Acme").customer
    other = customer_create(slug="other", name="Other").customer
    mine = services.batch_create(
        files=[SimpleUploadedFile("mine.csv", CSV)], queue=False, customer=acme
    )
    theirs = services.batch_create(
        files=[SimpleUploadedFile("theirs.csv", CSV)], queue=False, customer=other
    )
    user = User.objects.create_user("scoped", password="pw-e2e-123456", is_staff=True)
    user.groups.add(Group.objects.get(name="Customer viewers"))
    acme.members.add(user)

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "scoped")
    page.fill("#id_password", "pw-e2e-123456")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/batches/batchjob/")
    listing = page.locator("#result_list").inner_text()
    assert mine.batch_id in listing and theirs.batch_id not in listing
    response = page.goto(f"{live_server.url}/admin/batches/batchjob/{theirs.pk}/change/")
    assert theirs.batch_id not in page.content() or response.status == 404
