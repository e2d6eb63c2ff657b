"""Enrichment writes: the MX cache, filled outside transactions (results go with the outcome)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta

from django.utils import timezone

from leads.enrichment.mx import default_resolver, lookup_mx
from leads.models import MxCacheEntry

MX_CACHE_HOURS = 24
# How often a long prefetch tells the batch it is alive (the reconciler's stall clock);
# well inside STALL_TIMEOUT_SECONDS (90) and at most 30 s by contract.
HEARTBEAT_SECONDS = 20.0
MAX_DOMAIN_CHARS = 253  # the cache keys' length, and DNS's
_MX_WORKERS = 8


def _mx_fresh_since():
    return timezone.now() - timedelta(hours=MX_CACHE_HOURS)


def mx_cached(domains: Iterable[str]) -> dict[str, bool]:
    """The fresh cached MX answers among these domains."""
    return dict(
        MxCacheEntry.objects.filter(
            domain__in=set(domains), checked_at__gte=_mx_fresh_since()
        ).values_list("domain", "has_mx")
    )


def mx_cache_purge_expired() -> int:
    """Delete the answers too old to be read again; return how many."""
    deleted, _ = MxCacheEntry.objects.filter(checked_at__lt=_mx_fresh_since()).delete()
    return deleted


def mx_prefetch(
    domains: Iterable[str],
    *,
    resolver_factory: Callable | None = None,
    deadline: float | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> int:
    """Look up the domains not freshly cached and cache the answers; return how many were cached.

    Call it outside any transaction: it waits on the network (2 s at most per domain, a few at
    a time), starting no lookup after `deadline` (time.monotonic()) and calling `heartbeat`
    every HEARTBEAT_SECONDS meanwhile. A domain the DNS did not answer for (or not looked up
    in time) is not cached, so the next chunk tries again.
    """
    # A name over DNS's 253 characters is no domain (and no cache key): never looked up.
    wanted = {d for d in domains if d and len(d) <= MAX_DOMAIN_CHARS}
    missing = sorted(wanted - mx_cached(wanted).keys())
    if not missing:
        return 0
    resolver = (resolver_factory or default_resolver)()

    def lookup(domain: str) -> bool | None:
        if deadline is not None and time.monotonic() >= deadline:
            return None
        return lookup_mx(domain, resolver=resolver)

    answers = {}
    beat_at = time.monotonic() + HEARTBEAT_SECONDS
    with ThreadPoolExecutor(max_workers=min(_MX_WORKERS, len(missing))) as pool:
        futures = {pool.submit(lookup, domain): domain for domain in missing}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            answers.update((futures[f], f.result()) for f in done)
            if heartbeat is not None and time.monotonic() >= beat_at:
                heartbeat()
                beat_at = time.monotonic() + HEARTBEAT_SECONDS
    now = timezone.now()
    entries = [
        MxCacheEntry(domain=domain, has_mx=has_mx, checked_at=now)
        for domain, has_mx in answers.items()
        if has_mx is not None
    ]
    MxCacheEntry.objects.bulk_create(
        entries,
        update_conflicts=True,
        unique_fields=["domain"],
        update_fields=["has_mx", "checked_at"],
    )
    return len(entries)
