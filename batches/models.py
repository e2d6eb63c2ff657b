"""Batches: one upload of one or more lead files and the state of its processing."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from batches.reading import FIELDS, normalise_header


def new_batch_id() -> str:
    return f"batch_{secrets.token_hex(6)}"


def default_customer_pk() -> int:
    """The customer `default` (made by migrate): where a batch goes unless one is chosen."""
    from customers.models import DEFAULT_SLUG, Customer

    return (
        Customer.objects.only("pk")
        .get_or_create(slug=DEFAULT_SLUG, defaults={"name": "Default"})[0]
        .pk
    )


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
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="batches",
        default=default_customer_pk,
        help_text="Whose leads these are: they go to this customer's endpoints.",
    )
    webhook_url = models.URLField(
        "webhook URL",
        max_length=500,
        blank=True,
        help_text="Endpoint for this batch's webhooks; empty uses the customer's endpoints.",
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


class HeaderAlias(models.Model):
    """Another name a file's header may use for a lead field ("Surname" for last_name).

    Headers are compared with case, spaces and punctuation ignored, so one alias covers
    "E-mail Address", "email address" and "EMAIL_ADDRESS". Edits apply to the next upload.
    """

    field = models.CharField(
        max_length=16,
        choices=[(name, name) for name in FIELDS],
        help_text="The lead field this header stands for.",
    )
    alias = models.CharField(
        max_length=100, help_text='The header as files spell it, e.g. "Date of Birth".'
    )
    key = models.CharField(
        max_length=100,
        unique=True,
        editable=False,
        help_text="The alias without case, spaces or punctuation: what headers are matched on.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["field", "alias"]
        verbose_name = "header alias"
        verbose_name_plural = "header aliases"

    def __str__(self) -> str:
        return f"{self.alias} → {self.field}"

    def save(self, *args, **kwargs):
        self.key = normalise_header(self.alias)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.alias = " ".join(self.alias.split())
        self.key = normalise_header(self.alias)
        if not self.key:
            raise ValidationError({"alias": "An alias needs at least one letter or digit."})
        canonical = {normalise_header(name): name for name in FIELDS}
        if self.key in canonical and canonical[self.key] != self.field:
            raise ValidationError(
                {"alias": f"{self.alias!r} is the name of the field {canonical[self.key]}."}
            )
        # `key` is not a form field, so the form's own unique check does not cover it.
        taken = HeaderAlias.objects.filter(key=self.key).exclude(pk=self.pk).first()
        if taken is not None:
            raise ValidationError(
                {
                    "alias": f"{self.alias!r} reads the same as the alias {taken.alias!r} "
                    f"of {taken.field}."
                }
            )


class PendingUpload(models.Model):
    """Files checked and shown to an operator, waiting for "Confirm and validate".

    The files sit in storage under `directory` (pending/<unix time>-<random>/) until the
    operator confirms (they become a batch), cancels, or the purge removes them after
    PENDING_UPLOAD_MAX_AGE. Deleting the row on confirm is the claim that makes a
    double-clicked confirm create one batch.
    """

    token = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    directory = models.CharField(max_length=200)
    files = models.JSONField(default=list, help_text="[{path, name, size}] in upload order.")
    webhook_url = models.URLField(max_length=500, blank=True)
    revalidate_existing = models.BooleanField(default=False)
    # Null only for previews made before customers existed: those go to `default`.
    customer = models.ForeignKey(
        "customers.Customer", null=True, on_delete=models.CASCADE, related_name="+"
    )
    mapping_digest = models.CharField(max_length=64, help_text="What the operator was shown.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "pending upload"

    def __str__(self) -> str:
        return self.directory


class MappingProfile(models.Model):
    """A column mapping an operator chose in the upload preview and asked to remember.

    It is keyed by the file's normalised header row (every header, in order, without case,
    spaces or punctuation) and applies by itself to every later upload with that row: the
    admin preview preselects it, `import_batch` and `POST /upload_batch` use it. The row is
    unique through `header_key`, its SHA-256: a row of many long headers is too long for a
    unique index. A profile belongs to one customer or, with no customer, is shared by all;
    an upload uses its customer's profile for a header row before a shared one.
    """

    name = models.CharField(
        max_length=100,
        help_text="Shown in the upload preview when the profile applies, and recorded with "
        "the batch's files.",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mapping_profiles",
        help_text="Whose uploads it applies to; empty: every customer's (unless that customer "
        "has its own for these headers).",
    )
    header_key = models.CharField(
        "header key",
        max_length=64,
        editable=False,
        help_text="SHA-256 of the normalised header row: what uploads are matched on.",
    )
    header_row = models.JSONField(
        "normalised header row",
        editable=False,
        help_text="The file's headers without case, spaces or punctuation, in order.",
    )
    headers = models.JSONField(
        "headers",
        editable=False,
        help_text="The headers as the file that made this profile spelt them.",
    )
    columns = models.JSONField(
        "column choices",
        editable=False,
        help_text='For each column in order: the field it feeds, "keep" (a supplier column) '
        'or "ignore".',
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="made by",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("made at", auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="last changed by",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField("last changed at", auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "mapping profile"
        verbose_name_plural = "mapping profiles"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "header_key"], name="mapping_profile_customer_header_unique"
            ),
            # NULLs are distinct in a unique index: the shared profiles need their own.
            models.UniqueConstraint(
                fields=["header_key"],
                condition=models.Q(customer__isnull=True),
                name="mapping_profile_shared_header_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name
