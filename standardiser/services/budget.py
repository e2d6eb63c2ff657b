"""Each batch's call budget: a row's one call reserved atomically when it is first sent."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from standardiser.models import AiBatchUsage, AiCallReservation


def ai_usage_start(*, batch_pk: int) -> None:
    """Record that the standardiser runs for this batch (its CSV then says true/false)."""
    AiBatchUsage.objects.get_or_create(batch_id=batch_pk)


def ai_call_reserve(*, batch_pk: int, seq: int) -> bool:
    """Reserve the call of row `seq`: True when reserved now or already (a chunk run again),
    False when the batch has used AI_MAX_CALLS_PER_BATCH."""
    with transaction.atomic():
        # The first write takes the lock (the row on PostgreSQL, the database on SQLite), so
        # two chunks of the batch cannot both take the last call.
        AiBatchUsage.objects.filter(batch_id=batch_pk).update(calls=F("calls"))
        if AiCallReservation.objects.filter(batch_id=batch_pk, seq=seq).exists():
            return True
        taken = AiBatchUsage.objects.filter(
            batch_id=batch_pk, calls__lt=settings.AI_MAX_CALLS_PER_BATCH
        ).update(calls=F("calls") + 1)
        if not taken:
            return False
        try:
            with transaction.atomic():
                AiCallReservation.objects.create(batch_id=batch_pk, seq=seq)
        except IntegrityError:
            # Reserved by a run of the same chunk in between: count it once.
            AiBatchUsage.objects.filter(batch_id=batch_pk).update(calls=F("calls") - 1)
    return True
