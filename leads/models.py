"""Leads: one row of an uploaded file, its validation result, and cross-batch claims."""

from django.db import models
from django.db.models.functions import Upper

from valify.fields import JsonTextField


class LeadStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    VALID = "valid", "Valid"
    INVALID = "invalid", "Invalid"
    DUPLICATE = "duplicate", "Duplicate"
    FAILED = "failed", "Failed"


class LeadValidation(models.Model):
    """One data row of a batch and what validation made of it.

    `seq` numbers the rows of a batch in file order (files in upload order, sheets in
    workbook order); chunks are ranges of it.
    """

    # Indexed through the (batch, seq) constraint; fewer indexes keep bulk writes fast. The
    # link is kept by Django (on_delete), not by the database: a split writes a whole batch
    # in one transaction, whose commit ran one deferred foreign-key check per row.
    batch = models.ForeignKey(
        "batches.BatchJob",
        on_delete=models.CASCADE,
        related_name="leads",
        db_index=False,
        db_constraint=False,
    )
    seq = models.PositiveIntegerField(help_text="Position of the row within the batch.")
    source_file = models.CharField(max_length=255)
    worksheet = models.CharField(max_length=255, blank=True)
    row_number = models.PositiveIntegerField(help_text="Spreadsheet row, header = 1.")
    lead_id = models.CharField(
        "lead id", max_length=255, blank=True, help_text="first.last.ddmmyyyy"
    )
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    dob_raw = models.CharField("date of birth as given", max_length=255, blank=True)
    dob = models.DateField("date of birth", null=True, blank=True)
    email = models.CharField(max_length=320, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    company = models.CharField(max_length=255, blank=True)
    # Database defaults too: the split's COPY names only the columns a file can fill.
    website = models.CharField(
        max_length=255, blank=True, db_default="", help_text="The website's domain."
    )
    postcode = models.CharField(max_length=16, blank=True, db_default="")
    reference = models.CharField(
        max_length=255, blank=True, db_default="", help_text="The supplier's own id for the row."
    )
    consent_at = models.DateTimeField("consent given at", null=True, blank=True)
    consent_source = models.CharField(max_length=1000, blank=True, db_default="")
    consent_text = models.TextField(blank=True, db_default="")
    # Written in bulk with every row, read whole: json text, not jsonb (valify.fields).
    extra = JsonTextField(
        "supplier columns",
        default=dict,
        db_default=models.Value({}, output_field=JsonTextField()),
        blank=True,
        help_text="The file's columns that feed no field, under their headers (non-empty only).",
    )
    raw = JsonTextField("raw row", default=dict, blank=True)
    enrichment = models.JSONField(
        default=dict,
        db_default=models.Value({}, output_field=models.JSONField()),
        blank=True,
        help_text="Each enrichment step's result: {step: {status, reason, ...}}.",
    )
    ai = models.JSONField(
        "AI standardiser",
        default=dict,
        db_default=models.Value({}, output_field=models.JSONField()),
        blank=True,
        help_text=(
            "What the AI standardiser did with a row the rules could not read: "
            '{"model", "prompt_version", "changed": {field: [before, after]}, "outcome"}.'
        ),
    )
    malformed = models.CharField(
        max_length=255, blank=True, help_text="Why the row's shape was wrong, if it was."
    )
    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.PENDING)
    errors = models.JSONField("validation errors", default=list, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        db_index=False,
        help_text="The first occurrence of this lead id.",
    )
    failure_reason = models.CharField(max_length=255, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["batch", "seq"]
        verbose_name = "lead"
        permissions = [("erase_lead", "Can erase a person's data")]
        constraints = [
            models.UniqueConstraint(fields=["batch", "seq"], name="lead_batch_seq_unique")
        ]
        # No index holds `status`, and PostgreSQL leaves free space in each page (fillfactor,
        # migration 0003): a chunk's outcome update then writes each row's new version beside
        # the old one without touching any index (a HOT update), instead of an entry in every
        # index per row. "Any pending left?" reads the batch's processed_leads counter.
        indexes = [
            models.Index(fields=["batch", "lead_id", "seq"], name="lead_batch_leadid_idx"),
            models.Index(
                fields=["duplicate_of"],
                condition=models.Q(duplicate_of__isnull=False),
                name="lead_duplicate_of_idx",
            ),
            # Erasure by e-mail (compared without case) finds a person's rows without reading
            # the whole table; rows with no e-mail (required-only files) stay out of it.
            models.Index(Upper("email"), condition=~models.Q(email=""), name="lead_email_idx"),
        ]

    def __str__(self) -> str:
        return self.lead_id or f"{self.source_file}:{self.row_number}"


class LeadOwner(models.Model):
    """The lead that owns a lead id across batches, per scope (DEDUPE_SCOPE).

    The unique (lead id, scope) serialises cross-batch claims: of two batches of one scope
    validating the same person at once, exactly one inserts the row; the other sees it and
    marks a duplicate. It also outlives purged and erased leads as a tombstone, so
    de-duplication keeps working: the lead id is then replaced by its keyed hash
    (`leads.hashing`) and the owner emptied; an erased person's is in every scope (`*`).
    """

    lead_id = models.CharField("lead id", max_length=255)
    scope = models.CharField(
        max_length=64,
        help_text="Where the lead id is claimed once: customer:<id>, global, or * (every scope).",
    )
    # Claims are written in bulk by chunks; the links are kept by Django (on_delete), not by
    # per-row foreign-key triggers, which doubled the cost of that write.
    owner = models.ForeignKey(
        LeadValidation,
        verbose_name="owning lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        help_text="Empty once the owning lead has been purged (the row stays as a tombstone).",
    )
    batch = models.ForeignKey(
        "batches.BatchJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    claimed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "lead owner"
        # Lead id first: a tombstone is looked up by it in every scope.
        constraints = [
            models.UniqueConstraint(
                fields=["lead_id", "scope"], name="leadowner_lead_id_scope_unique"
            )
        ]

    def __str__(self) -> str:
        return self.lead_id


class ContactKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"


class LeadContactClaim(models.Model):
    """The lead that holds an e-mail address or phone number across batches, per scope.

    With DEDUPE_ON_EMAIL / DEDUPE_ON_PHONE, the first valid lead to claim a normalised
    e-mail (an E.164 phone) holds it; a later lead with it is a duplicate of that holder.
    Like lead owners, the unique key serialises batches validating at once, and a claim
    outlives a purged or erased holder as a tombstone (the value replaced by its keyed hash,
    the owner emptied). The scope is where a value is claimed once, as for lead owners.
    """

    scope = models.CharField(
        max_length=64,
        help_text="Where the value is claimed once: customer:<id>, global, or * (every scope).",
    )
    kind = models.CharField(max_length=8, choices=ContactKind.choices)
    value = models.CharField(
        max_length=320,
        help_text="The normalised e-mail or E.164 phone; its keyed hash once erased or purged.",
    )
    # Written in bulk by chunks, like lead owners: links kept by Django, not by triggers.
    owner = models.ForeignKey(
        LeadValidation,
        verbose_name="holding lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        help_text="Empty once the holding lead has been purged (the row stays as a tombstone).",
    )
    batch = models.ForeignKey(
        "batches.BatchJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    claimed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "e-mail or phone claim"
        # Kind and value first: a tombstone is looked up by them in every scope.
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value", "scope"], name="leadcontactclaim_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class ErasureKey(models.Model):
    """The stored key of the lead-id tombstones, used when ERASURE_HASH_KEY is not set.

    A singleton (pk 1, enforced by a constraint), written by the first migrate. Never shown
    in the admin: with it, a tombstone can be checked against a guessed name and birth date.
    """

    SINGLETON_PK = 1

    key = models.CharField(max_length=128, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "erasure hash key"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="erasurekey_singleton")
        ]

    def __str__(self) -> str:
        return "Erasure hash key"


class MxCacheEntry(models.Model):
    """Whether an e-mail domain has MX records, as last looked up (ENRICH_EMAIL_MX)."""

    domain = models.CharField(max_length=253, primary_key=True)
    has_mx = models.BooleanField()
    checked_at = models.DateTimeField()

    class Meta:
        verbose_name = "MX cache entry"
        verbose_name_plural = "MX cache entries"

    def __str__(self) -> str:
        return self.domain


class CompanyCacheEntry(models.Model):
    """The company provider's answer for a domain, as last fetched (ENRICH_COMPANY_URL).

    `not_found` (a 404 or an empty answer) is kept like a found company, so the provider is
    not asked again within ENRICH_CACHE_HOURS; failures are never stored.
    """

    class Found(models.TextChoices):
        OK = "ok", "Found"
        NOT_FOUND = "not_found", "Not found"

    domain = models.CharField(max_length=253, primary_key=True)
    status = models.CharField(max_length=16, choices=Found.choices)
    name = models.CharField(max_length=255, blank=True)
    size = models.CharField(max_length=255, blank=True)
    location = models.CharField(max_length=255, blank=True)
    industry = models.CharField(max_length=255, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        verbose_name = "company cache entry"
        verbose_name_plural = "company cache entries"

    def __str__(self) -> str:
        return self.domain
