"""The company provider on PostgreSQL and Redis: the rate shared through Redis, the cache
written outside the chunk's transaction."""

import time

import pytest
from django.db import connection

from batches.services import batch_create, enrich
from batches.services.inline import batch_process_inline
from leads.enrichment import DEFAULT_ENRICHERS
from leads.enrichment.provider_http import CompanyProvider
from leads.enrichment.ratelimit import shared_limiter
from leads.models import CompanyCacheEntry, LeadValidation
from leads.services import company_prefetch
from tests.conftest import csv_bytes, upload
from tests.leads.provider_support import ACME, FakeProvider
from webhooks.ratelimit import RateLimiter

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(settings):
    with FakeProvider({"acme.co.uk": ACME}) as server:
        settings.ENRICH_COMPANY_URL = server.url
        settings.LEAD_ENRICHERS = [*DEFAULT_ENRICHERS, "leads.enrichment.CompanyProviderEnricher"]
        yield server


def test_the_rate_is_held_through_redis_across_limiters(provider, settings):
    assert isinstance(shared_limiter(), RateLimiter) and shared_limiter().redis_url
    rate = 10.0
    # Two limiter objects, two clients: two worker processes sharing one Redis schedule.
    clients = [
        CompanyProvider(
            url=provider.url,
            api_key="k",
            limiter=RateLimiter(redis_url=settings.CELERY_BROKER_URL),
            rate=rate,
        )
        for _ in range(2)
    ]
    deadline = time.monotonic() + 10
    for _ in range(5):
        for client in clients:
            assert client.lookup("acme.co.uk", deadline=deadline).status == "ok"

    times = sorted(r.received_at for r in provider.requests)
    assert len(times) == 10
    assert times[-1] - times[0] >= 9 / rate * 0.9


def test_a_batch_fills_the_cache_outside_its_transaction_and_the_next_reads_it(
    provider, monkeypatch
):
    seen = []

    def prefetch(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return company_prefetch(*args, **kwargs)

    monkeypatch.setattr(enrich, "company_prefetch", prefetch)
    header = ("first_name", "last_name", "dob", "email")
    for n in range(2):
        content = csv_bytes([[f"Ann{n}", "Lee", "15/03/1990", f"ann{n}@acme.co.uk"]], header=header)
        batch = batch_create(files=[upload(f"leads{n}.csv", content)], queue=False)
        batch_process_inline(batch=batch)
        (lead,) = LeadValidation.objects.filter(batch=batch)
        result = lead.enrichment["company_provider"]
        assert (result["status"], result["name"], result["cached"]) == ("ok", "Acme Ltd", n == 1)
    assert len(provider.requests) == 1
    assert seen == [False, False], "the network is never waited on inside a transaction"
    assert CompanyCacheEntry.objects.get(domain="acme.co.uk").name == "Acme Ltd"
