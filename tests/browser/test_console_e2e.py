"""The console in a real browser: upload, live progress, error breakdown, export, viewers."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, User

from webhooks.models import Delivery, DeliveryStatus

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CSV = (
    "first_name,last_name,dob,email\n"
    "John,Smith,15/03/1990,john@example.com\n"
    "Peter,Parker,31/02/1991,peter@@example.com\n"
    "Zoë,O'Brien,1990-03-15,\n"
    "john,smith,15/3/1990,\n"
    "Young,Person,01/01/2020,\n"
)


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-e2e-123456")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def staff(username: str, group: str) -> User:
    user = User.objects.create_user(username, password="pw-e2e-123456", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_operator_uploads_and_watches_the_batch_complete(
    page, live_server, worker, shared_media, tmp_path, screenshot, settings
):
    # Configured as deployed (the pages then show no banner); the deliveries are due in 24 h.
    settings.WEBHOOK_SECRET = "whsec_" + "A" * 32
    settings.WEBHOOK_URL = "https://hooks.example.com/valify"
    staff("operator", "Operators")
    login(page, live_server, "operator")
    upload = tmp_path / "crm-export.csv"
    upload.write_text(CSV, encoding="utf-8")

    page.goto(f"{live_server.url}/admin/batches/batchjob/add/")
    page.set_input_files("input[type=file]", str(upload))
    page.click("input[name=_upload]")
    page.wait_for_selector("#batch-confirm-form")  # the column mapping, before anything starts
    assert "first_name" in page.inner_text("#upload-preview")
    page.click("input[name=_confirm]")
    page.wait_for_selector("#batch-live")
    batch_url = page.url
    loads = page.evaluate("performance.getEntriesByType('navigation').length")
    page.wait_for_function(
        "document.getElementById('batch-live').dataset.status === 'completed'", timeout=60_000
    )
    assert page.evaluate("document.getElementById('batch-progress').value") == 100
    assert page.inner_text("#batch-progress-label") == "100%"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == loads
    assert "Completed" in page.inner_text("#batch-status")
    assert page.inner_text(".field-completed_at .readonly") != "-"  # filled in without a reload
    assert page.locator("#batch-actions button[value=cancel]").count() == 0  # nothing to stop
    errors = page.inner_text("#batch-errors")
    assert "dob_unparseable" in errors and "under_min_age" in errors
    screenshot(page, "batch-page.png")

    page.click("#batch-errors a:has-text('dob_unparseable')")
    page.wait_for_selector("#result_list")
    rows = page.inner_text("#result_list")
    assert "Parker" in rows and "Smith" not in rows

    assert page.goto(batch_url).status == 200
    page.wait_for_selector("#batch-actions")
    with page.expect_download() as download:
        page.click("#batch-actions button[value=export_results]")
    exported = list(
        csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig")))
    )
    assert [row["validation_status"] for row in exported] == [
        "valid",
        "invalid",
        "valid",
        "duplicate",
        "invalid",
    ]
    assert exported[2]["id"] == "zoe.obrien.15031990"

    page.goto(f"{live_server.url}/admin/")
    assert page.inner_text("[data-figure=leads_validated]") == "5"
    screenshot(page, "dashboard.png")

    # One lead's webhook ran out of retries; the operator re-sends it from the batch page.
    failed = Delivery.objects.filter(lead_key="john.smith.15031990").get()
    failed.status, failed.last_error = DeliveryStatus.FAILED, "HTTP 503 after 8 attempts"
    failed.save(update_fields=["status", "last_error"])
    page.goto(batch_url)
    resend = "#batch-actions button[value=resend_failed_webhooks]"
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click(resend)
    assert not Delivery.objects.filter(resend_of=failed).exists()  # a refused confirm sends nothing
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(resend)
    page.wait_for_selector("text=1 webhook queued to be re-sent.")
    again = Delivery.objects.get(resend_of=failed)
    assert again.msg_id != failed.msg_id and again.status == DeliveryStatus.SCHEDULED
    assert again.payload["id"] == "john.smith.15031990"


def test_viewer_cannot_upload(page, live_server):
    staff("viewer", "Viewers")
    login(page, live_server, "viewer")
    page.goto(f"{live_server.url}/admin/batches/batchjob/")
    assert page.locator("a.addlink").count() == 0
    response = page.goto(f"{live_server.url}/admin/batches/batchjob/add/")
    assert response.status == 403


def test_batch_page_counts_errors_while_the_batch_runs(page, live_server, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from batches.services import batch_create, batch_split, chunk_validate

    settings.CHUNK_SIZE = 2
    batch = batch_create(files=[SimpleUploadedFile("crm.csv", CSV.encode())], queue=False)
    ranges = batch_split(batch_pk=batch.pk)  # processing, nothing validated yet
    staff("operator", "Operators")
    login(page, live_server, "operator")
    page.goto(f"{live_server.url}/admin/batches/batchjob/{batch.pk}/change/")
    assert "No validation errors yet." in page.inner_text("#batch-errors")

    first, last = ranges[0]  # John Smith and Peter Parker's 31 February
    chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)

    page.wait_for_function(
        "document.getElementById('batch-errors').innerText.includes('dob_unparseable')",
        timeout=15_000,
    )
    assert "Processing" in page.inner_text("#batch-status")  # before the end, not at it
    assert page.inner_text("#batch-processed") == "2"
