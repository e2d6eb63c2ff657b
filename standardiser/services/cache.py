"""Cached answers: read before asking, written after a good answer, removed on erasure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from standardiser.models import AiCacheEntry
from standardiser.prompt import PROMPT_VERSION, cache_key, cells_to_send, row_cells


def _cutoff():
    return timezone.now() - timedelta(days=settings.AI_CACHE_DAYS)


def ai_cache_get(*, keys: Iterable[str]) -> dict[str, dict]:
    """The answers cached for these keys that are still fresh."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    return dict(
        AiCacheEntry.objects.filter(key__in=keys, cached_at__gte=_cutoff()).values_list(
            "key", "answer"
        )
    )


def ai_cache_put(*, key: str, answer: Mapping[str, str]) -> None:
    """Keep a (non-empty) answer; an older one under the same key is replaced."""
    AiCacheEntry.objects.update_or_create(
        key=key, defaults={"answer": dict(answer), "cached_at": timezone.now()}
    )


def ai_cache_purge_expired() -> int:
    """Delete the answers older than AI_CACHE_DAYS; return how many."""
    deleted, _ = AiCacheEntry.objects.filter(cached_at__lt=_cutoff()).delete()
    return deleted


def ai_cache_forget(*, rows: Iterable[tuple[Mapping, Mapping]]) -> int:
    """Delete the answers cached for these rows' cells; return how many.

    `rows` are (raw row, the lead's `ai`) pairs, read before the rows are blanked. A lead
    whose `ai` names no model may still have been asked about, by this model and prompt,
    with its answer never stored on the row (its batch cancelled, its chunk failed).
    """
    keys = set()
    for raw, ai in rows:
        if ai and ai.get("model"):
            model, version = ai["model"], ai.get("prompt_version", "")
        elif settings.AI_MODEL:
            model, version = settings.AI_MODEL, PROMPT_VERSION
        else:
            continue
        sent = cells_to_send(row_cells(raw or {}))
        if sent:
            keys.add(cache_key(model=model, prompt_version=version, sent=sent))
    if not keys:
        return 0
    deleted, _ = AiCacheEntry.objects.filter(key__in=sorted(keys)).delete()
    return deleted
