"""The company provider in the pipeline: fetched before the chunk's transaction, cached,
carried in the CSV and payload, bounded by the chunk's time budget, never failing a batch."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from batches.exports import write_results_csv
from batches.models import BatchJob, BatchStatus
from batches.services import batch_create, batch_split
from batches.services.enrich import chunk_prefetch
from leads.enrichment import DEFAULT_ENRICHERS, provider_http
from leads.models import CompanyCacheEntry, LeadValidation
from leads.services import company
from tests.batches.test_pipeline import process
from tests.leads.provider_support import ACME, FakeProvider
from tests.users import staff
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob", "email", "website")
WIDGETS = {"name": "Widgets plc", "size": 12, "location": "Leeds", "industry": None}


def rows(*people):
    return [[first, "Smith", "15/03/1990", email, website] for first, email, website in people]


@pytest.fixture
def provider(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(provider_http, "BACKOFF_SECONDS", (0.01, 0.01))
    with FakeProvider({"acme.co.uk": ACME, "widgets.com": WIDGETS}) as server:
        settings.ENRICH_COMPANY_URL = server.url
        settings.ENRICH_COMPANY_API_KEY = "k-1"
        settings.LEAD_ENRICHERS = [*DEFAULT_ENRICHERS, "leads.enrichment.CompanyProviderEnricher"]
        settings.VAR_DIR = tmp_path  # a fresh rate-limit schedule
        settings.ENRICH_COMPANY_RATE_LIMIT = 0
        yield server


def results(batch):
    leads = LeadValidation.objects.filter(batch=batch)
    buffer = io.BytesIO()
    write_results_csv(leads, buffer)
    table = csv.DictReader(io.StringIO(buffer.getvalue().decode("utf-8-sig")))
    return {lead.first_name: lead for lead in leads}, {row["first_name"]: row for row in table}


def found(fields, *, cached):
    return {"status": "ok", "reason": None, **fields, "cached": cached}


def test_answers_are_carried_and_the_next_batch_reads_them_from_the_cache(make_upload, provider):
    people = rows(
        ("Ann", "ann@acme.co.uk", ""),
        ("Bob", "bob@gmail.com", "https://www.widgets.com/about"),
        ("Cy", "cy@gmail.com", ""),
    )
    batch = process(make_upload, people, header_override=HEADER)
    leads, table = results(batch)

    assert leads["Ann"].enrichment["company_provider"] == found(ACME, cached=False)
    widgets = {**WIDGETS, "size": "12"}
    assert leads["Bob"].enrichment["company_provider"] == found(widgets, cached=False)
    assert leads["Cy"].enrichment["company_provider"] == {
        "status": "skipped",
        "reason": "no_domain",
        "cached": False,
    }
    assert Delivery.objects.get(lead=leads["Cy"]).payload["enrichment"]["company_provider"] == {
        "status": "skipped",
        "reason": "no_domain",
        **dict.fromkeys(("name", "size", "location", "industry")),
        "cached": False,
    }
    picked = ("company_name", "company_size", "company_location", "company_industry")
    assert [table["Ann"][c] for c in picked] == ["Acme Ltd", "51-200", "London, GB", "Widgets"]
    assert [table["Bob"][c] for c in picked] == ["Widgets plc", "12", "Leeds", ""]
    assert [table["Cy"][c] for c in picked] == ["", "", "", ""]
    payload = Delivery.objects.get(lead=leads["Ann"]).payload
    assert payload["enrichment"]["company_provider"] == found(ACME, cached=False)
    assert sorted(r.path for r in provider.requests) == [
        "/company?domain=acme.co.uk",
        "/company?domain=widgets.com",
    ]

    again = process(make_upload, rows(("Dee", "dee@acme.co.uk", "")), header_override=HEADER)
    leads, _ = results(again)
    assert leads["Dee"].enrichment["company_provider"] == found(ACME, cached=True)
    assert len(provider.requests) == 2, "a cached domain is not asked again"


def test_not_found_is_cached_failures_are_not_and_neither_fails_the_batch(
    make_upload, provider, client
):
    provider.script["broken-ltd.co.uk"] = [(500, {}, b"down")] * 3
    people = rows(("Ann", "ann@nobody-ltd.co.uk", ""), ("Bob", "bob@broken-ltd.co.uk", ""))
    batch = process(make_upload, people, header_override=HEADER)
    leads, table = results(batch)

    assert batch.status == BatchStatus.COMPLETED
    ann, bob = leads["Ann"].enrichment, leads["Bob"].enrichment
    assert (ann["company_provider"]["status"], ann["company_provider"]["reason"]) == (
        "skipped",
        "not_found",
    )
    assert (bob["company_provider"]["status"], bob["company_provider"]["reason"]) == (
        "failed",
        "http_500",
    )
    assert {leads["Ann"].status, leads["Bob"].status} == {"valid"}
    assert table["Bob"]["company_name"] == ""
    assert list(CompanyCacheEntry.objects.values_list("domain", "status")) == [
        ("nobody-ltd.co.uk", "not_found")
    ]
    client.force_login(staff("v", "Viewers"))
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    assert '<span id="batch-company-found">0</span> found' in page
    assert '<span id="batch-company-not-found">1</span> not known' in page
    assert '<span id="batch-company-failed">1</span> failed' in page

    again = process(make_upload, people, header_override=HEADER, revalidate_existing=True)
    leads, _ = results(again)
    assert leads["Ann"].enrichment["company_provider"]["cached"] is True
    bob = leads["Bob"].enrichment["company_provider"]
    assert (bob["status"], bob["reason"], bob["cached"]) == ("skipped", "not_found", False)
    assert len(provider.asked("nobody-ltd.co.uk")) == 1
    assert len(provider.asked("broken-ltd.co.uk")) == 4, "a failure is asked again next time"


def test_leads_past_the_time_budget_are_skipped_and_a_rerun_reuses_the_cache(
    make_upload, provider, settings
):
    settings.ENRICH_COMPANY_RATE_LIMIT = 2  # one request every 0.5 s
    settings.ENRICH_CHUNK_BUDGET_SECONDS = 1.2  # room for three
    domains = [f"firm{n}.co.uk" for n in range(6)]
    for domain in domains:
        provider.companies[domain] = {"name": domain.upper()}
    people = rows(*((f"P{n}", f"p@{domain}", "") for n, domain in enumerate(domains)))

    batch = process(make_upload, people, header_override=HEADER)
    leads, _ = results(batch)

    outcomes = [leads[f"P{n}"].enrichment["company_provider"] for n in range(6)]
    reached = [o for o in outcomes if o["status"] == "ok"]
    assert len(reached) == len(provider.requests) == 3
    assert [o["reason"] for o in outcomes if o["status"] != "ok"] == ["time_budget"] * 3
    assert batch.status == BatchStatus.COMPLETED

    settings.ENRICH_CHUNK_BUDGET_SECONDS = 10
    again = process(make_upload, people, header_override=HEADER, revalidate_existing=True)
    leads, _ = results(again)
    outcomes = [leads[f"P{n}"].enrichment["company_provider"] for n in range(6)]
    assert {o["status"] for o in outcomes} == {"ok"}
    assert sum(o["cached"] for o in outcomes) == 3
    assert len(provider.requests) == 6, "only the three not reached are asked"


def test_a_long_prefetch_keeps_the_batch_alive_for_the_reconciler(
    make_upload, provider, settings, monkeypatch
):
    monkeypatch.setattr(company, "HEARTBEAT_SECONDS", 0.2)
    domains = [f"slow{n}.co.uk" for n in range(4)]
    for domain in domains:
        provider.companies[domain] = {"name": domain}
        provider.script[domain] = [("sleep", 0.6)]
    people = rows(*((f"P{n}", f"p@{domain}", "") for n, domain in enumerate(domains)))
    # A batch whose progress looks stalled, with pending rows whose lookups are slow.
    batch = batch_create(files=[make_upload(people, header=HEADER)], queue=False)
    batch_split(batch_pk=batch.pk)
    stale = timezone.now() - timedelta(minutes=10)
    BatchJob.objects.filter(pk=batch.pk).update(progress_at=stale)

    report = chunk_prefetch(batch_pk=batch.pk, first_seq=0, last_seq=10_000)

    assert report.asked == set(domains)
    batch.refresh_from_db()
    assert batch.progress_at > stale + timedelta(minutes=9)


def test_provider_off_asks_nothing_and_adds_no_result(make_upload, provider, settings):
    settings.ENRICH_COMPANY_URL = ""
    batch = process(make_upload, rows(("Ann", "ann@acme.co.uk", "")), header_override=HEADER)
    leads, table = results(batch)

    assert leads["Ann"].enrichment["company_provider"]["reason"] == "not_configured"
    assert table["Ann"]["company_name"] == ""
    assert provider.requests == []
