"""MX lookups against a DNS server on loopback, and their cache in the database."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.enrichment.mx import lookup_mx
from leads.models import MxCacheEntry
from leads.services import mx_cached, mx_prefetch
from tests.dnsstub import DnsStub

MX = {"acme.com": ["mx1.acme.com", "mx2.acme.com"], "nomx.example": [], "null.example": ["."]}


def test_lookup_answers_true_false_or_none_on_timeout():
    with DnsStub(MX, silent=frozenset({"slow.example"})) as stub:
        resolver = stub.resolver()
        assert lookup_mx("acme.com", resolver=resolver) is True
        assert lookup_mx("nomx.example", resolver=resolver) is False
        assert lookup_mx("null.example", resolver=resolver) is False
        assert lookup_mx("missing.example", resolver=resolver) is False
        started = time.monotonic()
        assert lookup_mx("slow.example", resolver=resolver) is None
        assert time.monotonic() - started < 3, "the 2 s timeout bounds the wait"


@pytest.mark.django_db
def test_prefetch_caches_answers_per_domain_for_24_hours_and_not_failures():
    domains = ["acme.com", "missing.example", "slow.example", "acme.com", ""]
    with DnsStub(MX, silent=frozenset({"slow.example"})) as stub:
        assert mx_prefetch(domains, resolver_factory=stub.resolver) == 2
        assert mx_cached(domains) == {"acme.com": True, "missing.example": False}
        asked = len(stub.questions)

        mx_prefetch(["acme.com", "missing.example"], resolver_factory=stub.resolver)
        assert len(stub.questions) == asked, "fresh answers come from the cache"

        MxCacheEntry.objects.filter(domain="acme.com").update(
            checked_at=timezone.now() - timedelta(hours=25)
        )
        assert mx_cached(["acme.com"]) == {}
        stub.mx = {"acme.com": []}
        mx_prefetch(["acme.com"], resolver_factory=stub.resolver)
        assert stub.questions[-1] == "acme.com"
        assert mx_cached(["acme.com"]) == {"acme.com": False}


@pytest.mark.django_db
def test_prefetch_starts_no_lookup_past_its_deadline_and_beats_meanwhile(monkeypatch):
    from leads.services import enrichment

    monkeypatch.setattr(enrichment, "HEARTBEAT_SECONDS", 0.5)
    beats = []
    silent = frozenset(f"slow{n}.example" for n in range(40))
    with DnsStub(MX, silent=silent) as stub:
        started = time.monotonic()
        cached = mx_prefetch(
            [*sorted(silent), "acme.com"],
            resolver_factory=stub.resolver,
            deadline=started + 0.5,
            heartbeat=lambda: beats.append(time.monotonic()),
        )
        elapsed = time.monotonic() - started

    assert cached == 1, "only the answer that came (acme.com, asked first) is cached"
    assert set(mx_cached([*silent, "acme.com"])) == {"acme.com"}
    assert elapsed < 3.5, "without the deadline 40 silent domains take 10 s, 8 at a time"
    assert beats, "the batch is told the chunk is alive while it waits"
