"""The AI standardiser's state: cached answers, each batch's call budget, the call slots."""

from django.db import models


class AiCacheEntry(models.Model):
    """A model's answer for the cells it was sent, kept for AI_CACHE_DAYS.

    Keyed by the SHA-256 of (model, prompt version, the field -> text pairs sent), never by a
    file name or row number: the same cells in another batch are not asked again.
    """

    key = models.CharField(max_length=64, primary_key=True, help_text="SHA-256, hex.")
    answer = models.JSONField(help_text="The fields the model proposed.")
    cached_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "AI cache entry"
        verbose_name_plural = "AI cache entries"

    def __str__(self) -> str:
        return self.key


class AiBatchUsage(models.Model):
    """The AI standardiser ran for this batch, and how many rows it sent to the model.

    Its presence is what makes the results CSV's `ai_corrected` true/false rather than empty.
    """

    batch = models.OneToOneField(
        "batches.BatchJob",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        db_constraint=False,
    )
    calls = models.PositiveIntegerField(
        default=0, help_text="Rows sent to the model (retries are part of a row's one call)."
    )

    class Meta:
        verbose_name = "AI usage of a batch"

    def __str__(self) -> str:
        return f"{self.calls} AI calls"


class AiCallReservation(models.Model):
    """One row's call, counted once against its batch's AI_MAX_CALLS_PER_BATCH.

    Keyed by (batch, row seq): a chunk run again finds its rows reserved and counts nothing.
    """

    batch = models.ForeignKey(
        "batches.BatchJob",
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    seq = models.PositiveIntegerField()
    reserved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "AI call reservation"
        constraints = [
            models.UniqueConstraint(fields=["batch", "seq"], name="aicall_batch_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.seq}"


class AiCallSlot(models.Model):
    """One of AI_CONCURRENCY places for a call in flight, across every worker.

    A holder that dies lets its place go when `expires_at` passes.
    """

    slot = models.PositiveSmallIntegerField(primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "AI call slot"

    def __str__(self) -> str:
        return f"slot {self.slot}"
