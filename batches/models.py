"""Batches: one upload of one or more lead files and the state of its processing."""

import secrets

from django.conf import settings
from django.db import models


def new_batch_id() -> str:
    return f"batch_{secrets.token_hex(6)}"


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_BATCH_STATUSES = (BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.CANCELLED)


class BatchJob(models.Model):
    """A batch of leads from one upload.

    Counts are written only by finalize (computed from the lead rows) and by chunks
    (processed_leads, advanced in the same transaction as the rows they finish), so they
    never depend on task messages arriving exactly once.
    """

    batch_id = models.CharField(
        "batch id", max_length=32, unique=True, default=new_batch_id, editable=False
    )
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING, db_index=True
    )
    webhook_url = models.URLField(
        "webhook URL",
        max_length=500,
        blank=True,
        help_text="Endpoint for this batch's webhooks; empty uses the WEBHOOK_URL setting.",
    )
    revalidate_existing = models.BooleanField(
        "re-validate existing leads",
        default=False,
        help_text="Validate and notify leads already seen in earlier batches instead of "
        "marking them duplicate.",
    )
    total_leads = models.PositiveIntegerField(default=0)
    processed_leads = models.PositiveIntegerField(default=0, help_text="Rows no longer pending.")
    valid_count = models.PositiveIntegerField("valid", default=0)
    invalid_count = models.PositiveIntegerField("invalid", default=0)
    duplicate_count = models.PositiveIntegerField("duplicate", default=0)
    failed_count = models.PositiveIntegerField("failed", default=0)
    error = models.TextField(blank=True, help_text="Why the batch failed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="uploaded by",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time a chunk finished; the reconciler's clock."
    )
    split_seconds = models.FloatField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "batch"
        verbose_name_plural = "batches"
        permissions = [
            ("upload_batch", "Can upload batches"),
            ("reprocess_batch", "Can reprocess, cancel and force-complete batches"),
            ("export_batch", "Can export batch results"),
        ]

    def __str__(self) -> str:
        return self.batch_id

    @property
    def progress(self) -> int:
        """Floor percentage of processed rows; 100 only once completed."""
        if self.status == BatchStatus.COMPLETED:
            return 100
        if not self.total_leads:
            return 0
        return min(99, 100 * self.processed_leads // self.total_leads)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_BATCH_STATUSES


class BatchFile(models.Model):
    """One uploaded file of a batch, stored through Django's storage API."""

    batch = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveSmallIntegerField(help_text="Order of the file in the upload.")
    name = models.CharField(max_length=255, help_text="The file name as uploaded.")
    file = models.FileField(upload_to="uploads/%Y/%m/%d/", max_length=500, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    kind = models.CharField(max_length=8, default="csv")
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    first_seq = models.PositiveIntegerField(
        default=1, help_text="Sequence number of this file's first lead within the batch."
    )
    column_mapping = models.JSONField(default=list, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="batchfile_position_unique")
        ]

    def __str__(self) -> str:
        return self.name
