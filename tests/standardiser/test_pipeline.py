"""The standardiser in a batch: corrections, refusals, bounds, cache, CSV, payload, erasure."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from batches.exports import result_object, results_queryset, write_results_csv
from batches.models import BatchJob
from batches.services import batches_purge_expired, person_erase
from leads.models import LeadStatus, LeadValidation
from standardiser.models import AiBatchUsage, AiCacheEntry
from standardiser.selectors import ai_counts
from tests.aifake import Step
from tests.batches.test_pipeline import process
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob", "email")
ROWS = [
    ["", "SMITH John", "15th March 1990", "john@example.com"],  # corrected
    ["Mary", "Jones", "3rd of July 1985", "mary@example.com"],  # date in words: corrected
    ["Ann", "Lee", "01/01/1980", "ann@example.com"],  # read by the rules: never sent
]


def leads_of(batch):
    return {lead.row_number: lead for lead in LeadValidation.objects.filter(batch=batch)}


def csv_rows(batch):
    buffer = io.BytesIO()
    write_results_csv(LeadValidation.objects.filter(batch=batch), buffer)
    text = buffer.getvalue().decode("utf-8-sig")
    return {int(row["row_number"]): row for row in csv.DictReader(io.StringIO(text))}


def test_rows_the_rules_could_not_read_are_corrected_and_keep_their_raw_row(
    fake_model, make_upload
):
    batch = process(make_upload, ROWS, header_override=HEADER)
    leads = leads_of(batch)

    john, mary, ann = leads[2], leads[3], leads[4]
    assert (john.status, john.first_name, john.last_name) == (LeadStatus.VALID, "John", "Smith")
    assert john.lead_id == "john.smith.15031990"
    assert john.dob.isoformat() == "1990-03-15"
    assert john.raw["last_name"] == "SMITH John" and john.raw["dob"] == "15th March 1990"
    assert john.ai == {
        "model": "fake-1",
        "prompt_version": "1",
        "changed": {
            "first_name": ["", "John"],
            "last_name": ["SMITH John", "Smith"],
            "dob": ["15th March 1990", "15/03/1990"],
        },
        "outcome": "corrected",
    }
    assert mary.status == LeadStatus.VALID and mary.lead_id == "mary.jones.03071985"
    assert mary.ai["changed"] == {"dob": ["3rd of July 1985", "03/07/1985"]}
    assert ann.ai == {} and ann.status == LeadStatus.VALID
    # Only the two unread rows were sent, and only their name and date cells.
    assert sorted(cells.get("last_name") for cells in fake_model.sent_cells()) == [
        "Jones",
        "SMITH John",
    ]
    assert all(
        set(cells) <= {"first_name", "last_name", "dob"} for cells in fake_model.sent_cells()
    )

    rows = csv_rows(batch)
    assert [rows[n]["ai_corrected"] for n in (2, 3, 4)] == ["true", "true", "false"]
    api = [
        result_object(lead) for lead in results_queryset(LeadValidation.objects.filter(batch=batch))
    ]
    assert [item["ai_corrected"] for item in api] == [True, True, False]
    payload = Delivery.objects.get(lead=john).payload
    assert payload["ai_corrected"] is True
    assert (payload["id"], payload["first_name"], payload["dob"]) == (
        "john.smith.15031990",
        "John",
        "15/03/1990",
    )
    assert Delivery.objects.get(lead=ann).payload["ai_corrected"] is False


def test_with_the_standardiser_off_nothing_is_sent_and_the_csv_column_is_empty(
    fake_model, settings, make_upload
):
    settings.AI_ENABLED = False
    batch = process(make_upload, ROWS, header_override=HEADER)

    assert fake_model.requests == []
    assert leads_of(batch)[2].status == LeadStatus.INVALID
    assert {row["ai_corrected"] for row in csv_rows(batch).values()} == {""}
    api = [
        result_object(lead) for lead in results_queryset(LeadValidation.objects.filter(batch=batch))
    ]
    assert {item["ai_corrected"] for item in api} == {None}
    assert Delivery.objects.get(lead=leads_of(batch)[2]).payload["ai_corrected"] is False


def test_an_answer_the_rules_refuse_leaves_the_rule_errors(fake_model, make_upload):
    rows = [
        ["", "SMITH John", "1st January 2020", ""],  # read, but under age
        ["", "BROWN Anne", "2nd May 1970", ""],  # answered with a name not in the row
    ]
    fake_model.answers['{"dob": "2nd May 1970", "last_name": "BROWN Anne"}'] = {
        "first_name": "Annabel",
        "last_name": "Brown",
        "dob": "1970-05-02",
    }
    batch = process(make_upload, rows, header_override=HEADER)
    leads = leads_of(batch)

    for lead in leads.values():
        assert lead.status == LeadStatus.INVALID
        assert lead.ai["outcome"] == "refused" and lead.ai["changed"] == {}
        assert lead.lead_id == "" and lead.first_name == ""
    assert "first_name_missing" in leads[2].errors and "dob_unparseable" in leads[2].errors
    assert ai_counts(leads=LeadValidation.objects.filter(batch=batch))["refused"] == 2


def test_an_all_numeric_date_is_left_out_and_the_rules_decide_it(fake_model, make_upload):
    rows = [["", "SMITH John", "13/13/1990", ""], ["", "JONES Mary", "03/07/1985", ""]]
    batch = process(make_upload, rows, header_override=HEADER)
    leads = leads_of(batch)

    # The first row could not pass whatever the answer (its date stays unread): not sent.
    assert fake_model.sent_cells() == [{"last_name": "JONES Mary"}], "the date stays out"
    assert leads[2].status == LeadStatus.INVALID and "dob_unparseable" in leads[2].errors
    assert leads[2].ai == {}
    assert leads[3].status == LeadStatus.VALID
    assert leads[3].lead_id == "mary.jones.03071985", "day and month as the rules read them"


def test_a_failing_service_never_fails_the_batch(fake_model, make_upload, settings):
    fake_model.script.extend([Step(status=500)] * 20)
    batch = process(make_upload, ROWS[:1], header_override=HEADER)

    lead = leads_of(batch)[2]
    assert batch.status == "completed"
    assert lead.status == LeadStatus.INVALID and lead.ai["outcome"] == "failed"
    assert lead.ai["reason"] == "http_500", "why there is no answer"
    assert len(fake_model.requests) == 3, "the call and two retries"
    assert not AiCacheEntry.objects.exists(), "a failed answer is not cached"


def test_rows_past_the_batch_budget_keep_their_rule_errors(fake_model, make_upload, settings):
    settings.AI_MAX_CALLS_PER_BATCH = 2
    rows = [["", f"SMITH {name}", "15th March 1990", ""] for name in ("Al", "Bo", "Cy", "Di")]
    batch = process(make_upload, rows, header_override=HEADER)

    assert len(fake_model.requests) == 2
    assert AiBatchUsage.objects.get(batch=batch).calls == 2
    counts = ai_counts(leads=LeadValidation.objects.filter(batch=batch))
    assert (counts["corrected"], counts["no_budget"]) == (2, 2)
    reasons = [lead.ai.get("reason") for lead in leads_of(batch).values()]
    assert reasons.count("calls_used_up") == 2 and reasons.count(None) == 2


def test_rows_past_the_time_budget_keep_their_rule_errors(fake_model, make_upload, settings):
    settings.ENRICH_CHUNK_BUDGET_SECONDS = 0
    batch = process(make_upload, ROWS, header_override=HEADER)

    assert fake_model.requests == []
    assert leads_of(batch)[2].ai["outcome"] == "no_budget"
    assert leads_of(batch)[2].ai["reason"] == "out_of_time"
    assert leads_of(batch)[2].status == LeadStatus.INVALID


def test_a_second_batch_with_the_same_cells_is_answered_from_the_cache(fake_model, make_upload):
    process(make_upload, ROWS, header_override=HEADER)
    asked = len(fake_model.requests)
    second = process(make_upload, ROWS, header_override=HEADER)

    assert asked == 2 and len(fake_model.requests) == asked
    assert AiBatchUsage.objects.get(batch=second).calls == 0, "a cache hit is not a call"
    # Same people again: duplicates of the first batch, by their corrected lead id.
    assert leads_of(second)[2].lead_id == "john.smith.15031990"
    assert leads_of(second)[2].status == LeadStatus.DUPLICATE


def test_identical_rows_in_a_chunk_are_asked_once(fake_model, make_upload):
    rows = [["", "SMITH John", "15th March 1990", f"j{n}@example.com"] for n in range(3)]
    process(make_upload, rows, header_override=HEADER)

    assert len(fake_model.requests) == 1


def test_erasure_removes_the_cached_answers_about_the_person(fake_model, make_upload):
    batch = process(make_upload, ROWS, header_override=HEADER)
    assert AiCacheEntry.objects.count() == 2

    dpo = User.objects.create_user("dpo", password="pw", is_staff=True)
    report = person_erase(user=dpo, lead_id="john.smith.15031990")

    assert report.ai_cache_entries == 1
    assert AiCacheEntry.objects.count() == 1, "Mary's answer stays"
    assert leads_of(batch)[2].ai == {}


def test_erasure_removes_an_answer_its_row_never_stored(fake_model, make_upload):
    batch = process(make_upload, ROWS[:1], header_override=HEADER)
    # As a batch cancelled while the model answered leaves it: cached, not on the row.
    LeadValidation.objects.filter(batch=batch).update(ai={}, lead_id="", status="failed")
    assert AiCacheEntry.objects.count() == 1

    dpo = User.objects.create_user("dpo", password="pw", is_staff=True)
    report = person_erase(user=dpo, email="john@example.com")

    assert report.ai_cache_entries == 1 and AiCacheEntry.objects.count() == 0


def test_retention_removes_the_cached_answers_about_purged_rows(fake_model, make_upload):
    old = process(make_upload, ROWS[:1], header_override=HEADER)
    process(make_upload, ROWS[1:2], header_override=HEADER)
    BatchJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    assert AiCacheEntry.objects.count() == 2

    batches_purge_expired(days=30)

    assert AiCacheEntry.objects.count() == 1, "only the purged batch's answer goes"


def test_a_row_corrected_into_a_lead_id_of_its_chunk_is_that_rows_duplicate(
    fake_model, make_upload
):
    rows = [
        ["John", "Smith", "15/03/1990", "john@example.com"],
        ["", "SMITH John", "15th March 1990", "john@example.com"],
    ]
    batch = process(make_upload, rows, header_override=HEADER)
    first, corrected = leads_of(batch)[2], leads_of(batch)[3]

    assert first.status == LeadStatus.VALID
    assert corrected.status == LeadStatus.DUPLICATE and corrected.duplicate_of_id == first.pk
    assert corrected.lead_id == "john.smith.15031990" and corrected.ai["outcome"] == "corrected"
    assert Delivery.objects.filter(batch=batch).count() == 1, "one webhook for the person"
