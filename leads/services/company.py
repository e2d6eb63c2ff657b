"""The company provider's cache: filled over the network before a chunk's transaction, read
offline inside it. Answers (found or not found) are kept ENRICH_CACHE_HOURS; failures never."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from leads.enrichment.base import FAILED, OK, SKIPPED
from leads.enrichment.company_provider import provider_result
from leads.enrichment.provider_http import (
    FIELDS,
    NOT_FOUND,
    CompanyProvider,
    ProviderAnswer,
)
from leads.enrichment.ratelimit import shared_limiter
from leads.models import CompanyCacheEntry
from leads.services.enrichment import HEARTBEAT_SECONDS, MAX_DOMAIN_CHARS

logger = logging.getLogger(__name__)

PROVIDER_WORKERS = 4
# Past the budget, lookups still running are left behind rather than waited for (each one
# ends within its own wall-clock limit anyway).
_GRACE_SECONDS = 1.0

_process_lock = threading.Lock()
_process_state: dict[str, object] = {}
os.register_at_fork(after_in_child=_process_state.clear)  # never share a parent's sockets


@dataclass
class CompanyPrefetch:
    """What one chunk's prefetch did: the domains it asked about, and why some have no answer."""

    asked: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # domain -> reason
    unreached: set[str] = field(default_factory=set)  # the time budget ran out first


def company_provider() -> CompanyProvider:
    """This process's provider client (keep-alive pool), rebuilt when its settings change."""
    key = (
        settings.ENRICH_COMPANY_URL,
        settings.ENRICH_COMPANY_API_KEY,
        float(settings.ENRICH_COMPANY_RATE_LIMIT),
        str(settings.CELERY_BROKER_URL),
        str(settings.VAR_DIR),
    )
    with _process_lock:
        current = _process_state.get("provider")
        if current is not None and _process_state.get("key") == key:
            return current
        provider = CompanyProvider(
            url=key[0],
            api_key=key[1],
            rate=key[2],
            limiter=shared_limiter(),
            connections=PROVIDER_WORKERS,
        )
        _process_state.update(provider=provider, key=key)
    if current is not None:
        current.close()
    return provider


def _fresh_since():
    return timezone.now() - timedelta(hours=settings.ENRICH_CACHE_HOURS)


def company_cached(domains: Iterable[str]) -> dict[str, CompanyCacheEntry]:
    """The fresh cache entries among these domains."""
    return {
        entry.domain: entry
        for entry in CompanyCacheEntry.objects.filter(
            domain__in=set(domains), fetched_at__gte=_fresh_since()
        )
    }


def company_cache_purge_expired() -> int:
    """Delete the answers too old to be read again; return how many."""
    deleted, _ = CompanyCacheEntry.objects.filter(fetched_at__lt=_fresh_since()).delete()
    return deleted


def company_prefetch(
    domains: Iterable[str],
    *,
    deadline: float,
    provider: CompanyProvider | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> CompanyPrefetch:
    """Ask the provider about the domains not freshly cached, until `deadline`
    (time.monotonic()), and cache its answers as they come.

    Call it outside any transaction: it waits on the network. `heartbeat` is called at least
    every HEARTBEAT_SECONDS while it runs.
    """
    report = CompanyPrefetch()
    wanted = {d for d in domains if d and len(d) <= MAX_DOMAIN_CHARS}
    missing = sorted(wanted - company_cached(wanted).keys())
    if not missing:
        return report
    provider = provider or company_provider()
    pool = ThreadPoolExecutor(
        max_workers=min(PROVIDER_WORKERS, len(missing)), thread_name_prefix="company-provider"
    )
    futures = {pool.submit(provider.lookup, d, deadline=deadline): d for d in missing}
    pending = set(futures)
    beat_at = time.monotonic() + HEARTBEAT_SECONDS
    try:
        while pending:
            now = time.monotonic()
            if now > deadline + _GRACE_SECONDS:
                break
            done, pending = wait(
                pending, timeout=max(0.05, min(1.0, beat_at - now)), return_when=FIRST_COMPLETED
            )
            entries = []
            for future in done:
                domain = futures[future]
                try:
                    answer = future.result()
                except Exception:  # a bug in one lookup is that domain's failure only
                    logger.warning("company_provider.error", exc_info=True)
                    answer = ProviderAnswer(FAILED, reason="error")
                if answer is None:
                    report.unreached.add(domain)
                    continue
                report.asked.add(domain)
                if answer.status == FAILED:
                    report.failed[domain] = answer.reason
                else:
                    entries.append(_entry(domain, answer))
            _store(entries)
            if heartbeat is not None and time.monotonic() >= beat_at:
                heartbeat()
                beat_at = time.monotonic() + HEARTBEAT_SECONDS
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    report.unreached.update(futures[future] for future in pending)
    if report.failed or report.unreached:
        logger.info(
            "company_provider.prefetch",
            extra={
                "asked": len(report.asked),
                "failed": len(report.failed),
                "unreached": len(report.unreached),
            },
        )
    return report


def company_results(domains: Iterable[str], prefetch: CompanyPrefetch | None) -> dict[str, dict]:
    """Each domain's `company_provider` result, from the cache and what the prefetch saw."""
    prefetch = prefetch or CompanyPrefetch()
    wanted = {d for d in domains if d}
    cached = company_cached(wanted)
    results = {}
    for domain in wanted:
        entry = cached.get(domain)
        if entry is not None:
            was_cached = domain not in prefetch.asked
            if entry.status == NOT_FOUND:
                results[domain] = provider_result(SKIPPED, NOT_FOUND, cached=was_cached)
            else:
                fields = {name: getattr(entry, name) for name in FIELDS}
                results[domain] = provider_result(OK, None, fields, cached=was_cached)
        elif domain in prefetch.failed:
            results[domain] = provider_result(FAILED, prefetch.failed[domain])
        elif domain in prefetch.unreached:
            results[domain] = provider_result(SKIPPED, "time_budget")
        else:
            results[domain] = provider_result(SKIPPED, "not_fetched")
    return results


def _entry(domain: str, answer: ProviderAnswer) -> CompanyCacheEntry:
    fields = {name: (answer.fields.get(name) or "") for name in FIELDS}
    return CompanyCacheEntry(
        domain=domain, status=answer.status, fetched_at=timezone.now(), **fields
    )


def _store(entries: list[CompanyCacheEntry]) -> None:
    if entries:
        CompanyCacheEntry.objects.bulk_create(
            entries,
            update_conflicts=True,
            unique_fields=["domain"],
            update_fields=["status", *FIELDS, "fetched_at"],
        )
