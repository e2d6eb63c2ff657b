"""Enrichment writes: the MX cache, filled outside transactions (results go with the outcome)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.utils import timezone

from leads.enrichment.mx import default_resolver, lookup_mx
from leads.models import MxCacheEntry

MX_CACHE_HOURS = 24
_MX_WORKERS = 8


def mx_cached(domains: Iterable[str]) -> dict[str, bool]:
    """The fresh cached MX answers among these domains."""
    since = timezone.now() - timedelta(hours=MX_CACHE_HOURS)
    return dict(
        MxCacheEntry.objects.filter(domain__in=set(domains), checked_at__gte=since).values_list(
            "domain", "has_mx"
        )
    )


def mx_prefetch(domains: Iterable[str], *, resolver_factory: Callable | None = None) -> int:
    """Look up the domains not freshly cached and cache the answers; return how many were cached.

    Call it outside any transaction: it waits on the network (2 s at most per domain, a few at
    a time). A domain the DNS did not answer for is not cached, so the next chunk tries again.
    """
    wanted = {d for d in domains if d}
    missing = sorted(wanted - mx_cached(wanted).keys())
    if not missing:
        return 0
    resolver = (resolver_factory or default_resolver)()
    with ThreadPoolExecutor(max_workers=min(_MX_WORKERS, len(missing))) as pool:
        answers = dict(
            zip(missing, pool.map(lambda d: lookup_mx(d, resolver=resolver), missing), strict=True)
        )
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
