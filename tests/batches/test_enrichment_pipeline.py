"""Enrichment in the pipeline: stored per valid lead, in the CSV and payload, never failing."""

import csv
import io

import pytest

from batches.exports import RESULT_COLUMNS, write_results_csv
from leads.models import LeadStatus, LeadValidation
from tests.batches.test_pipeline import process
from tests.dnsstub import DnsStub
from tests.users import staff
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob", "email", "phone", "website")
ROWS = [
    ["John", "Smith", "15/03/1990", "john@gmial.com", "07911 123456", ""],
    ["Jane", "Doe", "22/08/1985", "info@acme.co.uk", "020 7946 0000", "https://shop.acme.co.uk/"],
    ["Ann", "Lee", "01/01/1980", "ann@tempmail.mailinator.com", "", ""],
    ["Bob", "Young", "01/01/2020", "bob@acme.co.uk", "", ""],  # under age: invalid
    ["Cy", "Twombly", "02/02/1970", "", "", ""],
]


def by_name(batch):
    return {lead.first_name: lead for lead in LeadValidation.objects.filter(batch=batch)}


def csv_rows(batch):
    buffer = io.BytesIO()
    write_results_csv(LeadValidation.objects.filter(batch=batch), buffer)
    return {
        row["first_name"]: row
        for row in csv.DictReader(io.StringIO(buffer.getvalue().decode("utf-8-sig")))
    }


def test_valid_leads_are_enriched_stored_carried_in_csv_and_payload(make_upload):
    batch = process(make_upload, ROWS, header_override=HEADER)
    leads = by_name(batch)

    john, jane = leads["John"].enrichment, leads["Jane"].enrichment
    assert john["email"] == {
        "status": "ok",
        "disposable": True,
        "role": False,
        "free": False,
        "suggestion": "john@gmail.com",
        "mx": None,
    }
    # A step that did not run keeps its status and reason in the row, not its keys' nulls.
    assert john["company"] == {"status": "skipped", "reason": "no_domain"}
    # No TPS list is loaded: the number is not screened.
    assert john["phone"] == {"status": "ok", "type": "mobile", "tps": None, "screened_at": None}
    assert jane["company"] == {"status": "ok", "domain": "acme.co.uk", "from": "website"}
    assert jane["email"]["role"] is True
    assert jane["phone"]["type"] == "fixed_line"
    assert leads["Ann"].enrichment["email"]["disposable"] is True
    # Whatever a step's status, the payload carries every key the contract gives it.
    cy = Delivery.objects.get(lead=leads["Cy"]).payload["enrichment"]
    assert cy["email"] == {"status": "skipped", "reason": "no_email"} | dict.fromkeys(
        ("disposable", "role", "free", "suggestion", "mx")
    )
    assert cy["phone"] == {"status": "skipped", "reason": "no_phone"} | dict.fromkeys(
        ("type", "tps", "screened_at")
    )
    assert leads["Bob"].status == LeadStatus.INVALID
    assert leads["Bob"].enrichment == {}, "only valid leads are enriched"
    assert leads["John"].status == LeadStatus.VALID, "enrichment alone never invalidates"

    rows = csv_rows(batch)
    assert list(rows["John"]) == list(RESULT_COLUMNS)
    picked = ("email_disposable", "email_role", "email_free", "email_suggestion")
    assert [rows["John"][c] for c in picked] == ["true", "false", "false", "john@gmail.com"]
    assert [rows["Jane"][c] for c in (*picked, "company_domain", "phone_type")] == [
        "false",
        "true",
        "false",
        "",
        "acme.co.uk",
        "fixed_line",
    ]
    assert [rows["Bob"][c] for c in (*picked, "company_domain", "phone_type")] == [""] * 6

    payload = Delivery.objects.get(lead=leads["Jane"]).payload
    assert {step: payload["enrichment"][step] for step in ("email", "company", "phone")} == {
        step: jane[step] for step in ("email", "company", "phone")
    }
    assert jane["company_provider"] == {
        "status": "skipped",
        "reason": "not_configured",
        "cached": False,
    }
    # No provider configured: its key is there all the same, for a receiver to read.
    assert payload["enrichment"]["company_provider"] == {
        "status": "skipped",
        "reason": "not_configured",
        **dict.fromkeys(("name", "size", "location", "industry")),
        "cached": False,
    }
    assert Delivery.objects.get(lead=leads["Bob"]).payload["enrichment"] is None


def test_reject_disposable_makes_the_lead_invalid_and_it_never_claims(make_upload, settings):
    settings.ENRICH_REJECT_DISPOSABLE = True
    rows = ROWS[:3]
    batch = process(make_upload, rows, header_override=HEADER)
    leads = by_name(batch)

    for name in ("John", "Ann"):
        assert (leads[name].status, leads[name].errors) == (
            LeadStatus.INVALID,
            ["email_disposable"],
        )
    assert leads["Jane"].status == LeadStatus.VALID
    payload = Delivery.objects.get(lead=leads["Ann"]).payload
    assert payload["validation_errors"] == ["email_disposable"]
    assert "disposable" in payload["validation_messages"][0]

    # With the rule off again, the same person is valid: the rejected lead held no claim.
    settings.ENRICH_REJECT_DISPOSABLE = False
    again = by_name(process(make_upload, rows, header_override=HEADER))
    assert again["Ann"].status == LeadStatus.VALID
    assert again["Jane"].status == LeadStatus.DUPLICATE


class Exploding:
    name = "exploding"

    def __call__(self, leads, ctx):
        raise RuntimeError("step broke")


def test_a_failing_step_is_recorded_and_the_batch_completes(make_upload, settings):
    settings.LEAD_ENRICHERS = [
        "tests.batches.test_enrichment_pipeline.Exploding",
        "leads.enrichment.PhoneEnricher",
    ]
    batch = process(make_upload, ROWS[:2], header_override=HEADER)
    batch.refresh_from_db()

    assert batch.status == "completed"
    for lead in by_name(batch).values():
        assert lead.status == LeadStatus.VALID
        assert lead.enrichment["exploding"] == {
            "status": "failed",
            "reason": "RuntimeError: step broke",
        }
        assert lead.enrichment["phone"]["status"] == "ok"
        assert "email" not in lead.enrichment


def test_mx_is_looked_up_before_the_chunk_and_stored(make_upload, settings, monkeypatch):
    settings.ENRICH_EMAIL_MX = True
    rows = [
        ["John", "Smith", "15/03/1990", "john@acme.co.uk", "", ""],
        ["Jane", "Doe", "22/08/1985", "jane@nowhere.example", "", ""],
    ]
    with DnsStub({"acme.co.uk": ["mx.acme.co.uk"]}) as stub:
        monkeypatch.setattr("leads.services.enrichment.default_resolver", stub.resolver)
        batch = process(make_upload, rows, header_override=HEADER)

    leads = by_name(batch)
    assert leads["John"].enrichment["email"]["mx"] is True
    assert leads["Jane"].enrichment["email"]["mx"] is False
    assert sorted(stub.questions) == ["acme.co.uk", "nowhere.example"]


def test_an_address_that_is_no_address_is_never_looked_up_and_fails_nothing(
    make_upload, settings, monkeypatch
):
    settings.ENRICH_EMAIL_MX = True
    # A 254-character domain, legal in DNS for its trailing dot, longer than any cache key.
    hostile = "max@" + ("a" * 63 + ".") * 3 + "b" * 57 + ".com."
    rows = [
        ["Max", "Hostile", "15/03/1990", hostile, "", ""],
        ["Jane", "Doe", "22/08/1985", "jane@bad@acme.co.uk", "", ""],
        ["John", "Smith", "15/03/1990", "john@acme.co.uk", "", ""],
    ]
    with DnsStub({"acme.co.uk": ["mx.acme.co.uk"]}) as stub:
        monkeypatch.setattr("leads.services.enrichment.default_resolver", stub.resolver)
        batch = process(make_upload, rows, header_override=HEADER)

    batch.refresh_from_db()
    assert batch.status == "completed"
    leads = by_name(batch)
    assert leads["Max"].errors == ["email_invalid"] and leads["Jane"].errors == ["email_invalid"]
    assert leads["John"].enrichment["email"]["mx"] is True
    assert stub.questions == ["acme.co.uk"]  # only valid addresses' domains


def test_a_prefetch_that_breaks_leaves_the_mx_unchecked_and_the_batch_completes(
    make_upload, settings, monkeypatch
):
    settings.ENRICH_EMAIL_MX = True

    def broken(*args, **kwargs):
        raise RuntimeError("cache unwritable")

    monkeypatch.setattr("batches.services.enrich.mx_prefetch", broken)
    batch = process(make_upload, [ROWS[0]], header_override=HEADER)

    batch.refresh_from_db()
    assert batch.status == "completed"
    assert LeadValidation.objects.get(batch=batch).status == LeadStatus.VALID


def test_batch_page_counts_and_lead_page_shows_the_enrichment(client, make_upload):
    batch = process(make_upload, ROWS, header_override=HEADER)
    client.force_login(staff("v", "Viewers"))

    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    assert '<span id="batch-disposable">2</span> disposable' in page
    assert '<span id="batch-role">1</span> role' in page
    assert '<span id="batch-free-mail">0</span> free-mail' in page

    jane = by_name(batch)["Jane"]
    page = client.get(f"/admin/leads/leadvalidation/{jane.pk}/change/").content.decode()
    assert "<code>company</code> ok: domain acme.co.uk; from website" in page
    assert "<code>phone</code> ok: screened_at -; tps -; type fixed_line" in page
    john = by_name(batch)["John"]
    page = client.get(f"/admin/leads/leadvalidation/{john.pk}/change/").content.decode()
    assert "<code>company</code> skipped: reason no_domain</li>" in page


def test_erasure_blanks_the_enrichment_in_the_row_and_the_payload(make_upload):
    from leads.services import leads_erase
    from webhooks.payloads import blank_payload

    batch = process(make_upload, ROWS[:1], header_override=HEADER)
    john = by_name(batch)["John"]
    payload = Delivery.objects.get(lead=john).payload
    assert payload["enrichment"]["email"]["suggestion"] == "john@gmail.com"

    leads_erase(leads=LeadValidation.objects.filter(pk=john.pk))
    john.refresh_from_db()

    assert john.enrichment == {}
    assert blank_payload(payload)["enrichment"] is None
