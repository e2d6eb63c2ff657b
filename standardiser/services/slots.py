"""At most AI_CONCURRENCY calls in flight across every worker: places held in the database.

Database rows rather than a Redis semaphore, so the bound holds on the embedded defaults
too; each place expires, so a worker killed mid-call gives its place back.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from standardiser.client import ATTEMPTS, MAX_WAITS_SECONDS
from standardiser.models import AiCallSlot

HOLD_MARGIN_SECONDS = 10


def _hold() -> timedelta:
    # As long as a call can last: its attempts, each cut by the wall clock, and the waits
    # between them, all within the chunk's budget. A place outlives a killed holder no longer.
    call = min(
        settings.AI_TIMEOUT * ATTEMPTS + MAX_WAITS_SECONDS, settings.ENRICH_CHUNK_BUDGET_SECONDS
    )
    return timedelta(seconds=call + HOLD_MARGIN_SECONDS)


def ai_slots_ensure() -> None:
    """Create the AI_CONCURRENCY places (once)."""
    AiCallSlot.objects.bulk_create(
        [AiCallSlot(slot=n) for n in range(settings.AI_CONCURRENCY)], ignore_conflicts=True
    )


def ai_slot_acquire() -> str | None:
    """Take a free (or expired) place: its holder token, or None when all are taken."""
    now = timezone.now()
    token = uuid.uuid4().hex
    free = Q(holder="") | Q(expires_at__lt=now)
    candidate = AiCallSlot.objects.filter(free, slot__lt=settings.AI_CONCURRENCY).order_by("slot")
    # One statement: the place's freedom is checked again as it is taken, so of two workers
    # picking the same place one takes it and the other finds none this time.
    taken = AiCallSlot.objects.filter(free, slot__in=candidate.values("slot")[:1]).update(
        holder=token, expires_at=now + _hold()
    )
    return token if taken else None


def ai_slot_release(*, token: str) -> None:
    """Give the place back (unless it expired and was taken by another)."""
    AiCallSlot.objects.filter(holder=token).update(holder="", expires_at=None)
