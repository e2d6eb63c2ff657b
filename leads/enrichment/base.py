"""What an enrichment step sees and answers, and how the configured steps are loaded.

A step is a class named by dotted path in ``LEAD_ENRICHERS`` (like ``LEAD_VALIDATORS``); its
instance has a ``name`` (the key its result is stored under) and is called with a batch of
leads, returning one result dict per lead: ``{"status": "ok" | "skipped" | "failed", ...}``.
A step may also name its result's ``keys``: a skipped or failed result then carries each of
them as null, so a payload reader finds the same keys whatever the status.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

OK = "ok"
SKIPPED = "skipped"
FAILED = "failed"


@dataclass(slots=True)
class EnrichLead:
    """A valid lead's normalised values, as the steps read them."""

    email: str  # lower-cased normalised address, or ""
    phone: str  # E.164, or ""
    website: str  # the bare domain stored for the lead, or ""


@dataclass(slots=True)
class EnrichContext:
    phone_region: str = "GB"
    # Whether each e-mail domain has MX records, looked up before the chunk's transaction;
    # None: MX is not checked at all.
    mx: Mapping[str, bool | None] | None = None
    # The company provider's result per company domain, read from its cache before the
    # chunk's transaction; None: the provider is off.
    company: Mapping[str, dict] | None = None
    extra: dict = field(default_factory=dict)


class Enricher(Protocol):
    name: str
    # Optional: the keys of the step's result besides status and reason.
    # keys: tuple[str, ...]

    def __call__(self, leads: Sequence[EnrichLead], ctx: EnrichContext) -> list[dict]: ...


def skipped(reason: str, keys: Sequence[str] = ()) -> dict:
    """A skipped result: its reason, and each of the step's keys as null.

    One object per (reason, keys), shared: most leads skip some step (a lead with no phone
    skips the phone step), and the runner checks each distinct answer once. Copy it before
    changing it.
    """
    return _skipped(reason, tuple(keys))


@functools.lru_cache(maxsize=256)
def _skipped(reason: str, keys: tuple[str, ...]) -> dict:
    return {"status": SKIPPED, "reason": reason, **dict.fromkeys(keys)}


def stored(enrichment: Mapping[str, dict]) -> dict[str, dict]:
    """What a lead's row keeps of its results: a step that did not run (skipped, failed) keeps
    its status, reason and whatever else it set, not its keys' nulls.

    The payload carries every key; the row need not. Its outcome is written beside its pending
    version in the same page (fillfactor, leads migration 0003), and nulls were most of a lead's
    enrichment: with every step's keys the row outgrew the page's free space.
    """
    return {
        step: result
        if result.get("status") == OK
        else {key: value for key, value in result.items() if value is not None}
        for step, result in enrichment.items()
    }


def failed(reason: str, keys: Sequence[str] = ()) -> dict:
    """A failed result: its reason, and each of the step's keys as null."""
    return {"status": FAILED, "reason": reason, **dict.fromkeys(keys)}


@functools.lru_cache(maxsize=16)
def _import_enrichers(paths: tuple[str, ...]) -> tuple[Enricher, ...]:
    from django.utils.module_loading import import_string

    loaded = []
    for path in paths:
        obj = import_string(path)
        loaded.append(obj() if isinstance(obj, type) else obj)
    return tuple(loaded)


def load_enrichers(paths: Sequence[str]) -> tuple[Enricher, ...]:
    """Import (and instantiate, for classes) the steps named by dotted paths; cached."""
    return _import_enrichers(tuple(paths))
