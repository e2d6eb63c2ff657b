"""The console shows what the standardiser did: per batch, and on the lead page."""

import pytest

from tests.aifake import Step
from tests.batches.test_pipeline import process
from tests.users import staff

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob")
ROWS = [
    ["", "SMITH John", "15th March 1990"],  # corrected
    ["", "BROWN Anne", "1st January 2020"],  # read, but under age: refused
    ["", "JONES Mary", "2nd May 1970"],  # past the budget
]


@pytest.fixture
def two_calls_batch(fake_model, settings, make_upload, client):
    """ROWS with two calls allowed, made in file order, and a viewer logged in."""
    settings.AI_MAX_CALLS_PER_BATCH = 2
    settings.AI_CONCURRENCY = 1  # rows go in file order
    batch = process(make_upload, ROWS, header_override=HEADER)
    client.force_login(staff("v", "Viewers"))
    return batch


def test_batch_page_counts_corrected_refused_and_left_rows(two_calls_batch, client):
    batch = two_calls_batch

    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()

    assert '<span id="batch-ai-corrected">1</span>' in page
    assert '<span id="batch-ai-refused">1</span>' in page
    assert '<span id="batch-ai-no-budget">1</span>' in page


def test_batch_page_has_no_ai_panel_when_it_did_not_run(settings, make_upload, client):
    batch = process(make_upload, ROWS, header_override=HEADER)
    client.force_login(staff("v", "Viewers"))

    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()

    assert 'id="batch-ai"' not in page


def test_lead_page_shows_the_model_and_each_change(fake_model, make_upload, client):
    batch = process(make_upload, ROWS[:1], header_override=HEADER)
    client.force_login(staff("v", "Viewers"))
    lead = batch.leads.get()

    page = client.get(f"/admin/leads/leadvalidation/{lead.pk}/change/").content.decode()

    assert "<code>corrected</code> by fake-1" in page
    assert "<li><code>dob</code>: «15th March 1990» → «15/03/1990»</li>" in page


def test_lead_page_says_why_the_model_gave_no_answer(fake_model, make_upload, client):
    fake_model.script.append(Step(status=401))
    batch = process(make_upload, ROWS[:1], header_override=HEADER)
    client.force_login(staff("v", "Viewers"))
    lead = batch.leads.get()

    page = client.get(f"/admin/leads/leadvalidation/{lead.pk}/change/").content.decode()

    assert "<code>failed</code> (<code>http_401</code>) by fake-1" in page


def test_the_batch_pages_ai_counts_link_to_the_leads_behind_them(two_calls_batch, client):
    batch = two_calls_batch
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    link = f"/admin/leads/leadvalidation/?batch={batch.batch_id}&amp;ai=corrected"
    assert f'<a href="{link}">' in page

    shown = {
        outcome: client.get(f"/admin/leads/leadvalidation/?batch={batch.batch_id}&ai={outcome}")
        .context["cl"]
        .result_list
        for outcome in ("corrected", "refused", "no_budget")
    }

    assert [lead.raw["last_name"] for lead in shown["corrected"]] == ["SMITH John"]
    assert [lead.raw["last_name"] for lead in shown["refused"]] == ["BROWN Anne"]
    assert [lead.raw["last_name"] for lead in shown["no_budget"]] == ["JONES Mary"]
    assert "By AI standardiser" in client.get("/admin/leads/leadvalidation/").content.decode()


def test_the_leads_list_offers_the_ai_filter_only_once_the_standardiser_ran(
    settings, make_upload, client
):
    settings.AI_BASE_URL = ""  # off
    process(make_upload, ROWS, header_override=HEADER)
    client.force_login(staff("v", "Viewers"))

    page = client.get("/admin/leads/leadvalidation/").content.decode()

    assert "By AI standardiser" not in page
