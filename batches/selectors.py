"""Batch reads: header aliases, mapping profiles, the batches a user may see, counts, row
ranges, supplier columns."""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from batches.models import BatchFile, BatchJob, HeaderAlias, MappingProfile
from batches.reading import FIELDS, normalise_header
from batches.reading.choices import header_key
from customers.models import Customer
from customers.selectors import customers_visible_to, user_sees_all_customers
from leads.models import LeadStatus, LeadValidation
from valify.timefmt import console_time


def header_aliases() -> dict[str, tuple[str, ...]]:
    """Return the names each field's header may have: its own name, then the admin's aliases.

    Read on every upload, so an alias added in the admin is used by the next one. An alias
    that would also name another field (only possible by writing around the model's checks)
    is left out rather than making every upload fail.
    """
    owner = {normalise_header(name): name for name in FIELDS}
    names: dict[str, list[str]] = {name: [name] for name in FIELDS}
    for field_name, alias in HeaderAlias.objects.order_by("pk").values_list("field", "alias"):
        key = normalise_header(alias)
        if field_name in names and key and owner.setdefault(key, field_name) == field_name:
            names[field_name].append(alias)
    return {name: tuple(aliases) for name, aliases in names.items()}


def mapping_profiles_for(
    *, header_rows: Iterable[Sequence[str]], customer_pk: int | None = None
) -> dict[tuple[str, ...], MappingProfile]:
    """Return the mapping profile that applies to each normalised header row that has one.

    The customer's own profile for a row comes before a shared one (no customer); with no
    ``customer_pk`` only shared profiles apply. One query.
    """
    keys = {header_key(row): tuple(row) for row in header_rows}
    if not keys:
        return {}
    mine = Q(customer_id=customer_pk) if customer_pk is not None else Q(pk__in=[])
    found = MappingProfile.objects.filter(mine | Q(customer__isnull=True), header_key__in=keys)
    # Shared first, so the customer's own profile for the same row replaces it.
    ordered = sorted(found, key=lambda profile: profile.customer_id is not None)
    return {keys[profile.header_key]: profile for profile in ordered}


def batch_mapping_profiles(*, batch: BatchJob) -> list[dict]:
    """Return where a mapping profile chose the columns: [{"file", "worksheet", "profile"}].

    In file order, then worksheet order; a CSV file's worksheet is None.
    """
    applied = []
    for name, mappings in batch.files.order_by("position").values_list("name", "column_mapping"):
        for mapping in mappings:
            if mapping.get("profile"):
                applied.append(
                    {
                        "file": name,
                        "worksheet": mapping.get("worksheet") or None,
                        "profile": mapping["profile"],
                    }
                )
    return applied


def batch_reading_notes(*, batch: BatchJob) -> list[dict]:
    """What the reader noted while reading the batch's files (rows it left out, a header
    below a title, a header cut short): [{"file", "worksheet", "note"}], in file order."""
    return [
        {"file": name, "worksheet": mapping.get("worksheet") or None, "note": note}
        for name, mappings in batch.files.order_by("position").values_list("name", "column_mapping")
        for mapping in mappings
        for note in mapping.get("notes", ())
    ]


def batches_visible(*, user, token_customer: Customer | None = None) -> QuerySet[BatchJob]:
    """The batches ``user`` may see and act on, failing closed.

    Superusers and holders of view_all_customers see every batch; anyone else only those of
    the customers they are a member of (none without a membership). A token scoped to a
    customer narrows that to its customer's batches.
    """
    batches = BatchJob.objects.all()
    if not user_sees_all_customers(user):
        batches = batches.filter(customer__in=customers_visible_to(user))
    if token_customer is not None:
        batches = batches.filter(customer_id=token_customer.pk)
    return batches


def leads_visible(*, user, token_customer: Customer | None = None) -> QuerySet[LeadValidation]:
    """The leads of the batches ``user`` may see (the one rule: batches_visible)."""
    return LeadValidation.objects.filter(
        batch__in=batches_visible(user=user, token_customer=token_customer)
    )


def leads_validated_between(
    *, batches: QuerySet[BatchJob], since: datetime, until: datetime | None = None
) -> QuerySet[LeadValidation]:
    """The leads of ``batches`` validated in [since, until), looked for only in the batches
    that were working then: the leads table is never read whole.

    A chunk sets its rows' validated_at and its batch's progress_at to one time in one
    transaction, and progress_at only moves forward, but for a chunk that started earlier
    and committed later, which the task time limit bounds.
    """
    slack = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    working = batches.filter(progress_at__gte=since - slack)
    leads = LeadValidation.objects.filter(validated_at__gte=since)
    if until is not None:
        working = working.filter(created_at__lt=until)
        leads = leads.filter(validated_at__lt=until)
    return leads.filter(batch__in=working.values("pk"))


def batch_lead_counts(*, batch_pk: int) -> dict[str, int]:
    """Count a batch's rows by status, straight from the rows."""
    by_status = {status: Count("pk", filter=Q(status=status)) for status in LeadStatus.values}
    counts = LeadValidation.objects.filter(batch_id=batch_pk).aggregate(
        total=Count("pk"), **by_status
    )
    return counts


# A running batch without progress this long is shown as possibly stalled (a chunk of the
# default size takes a second or two).
STALL_NOTICE_SECONDS = 30


def batch_stall(*, batch: BatchJob, now: datetime | None = None) -> dict[str, str] | None:
    """For a pending or running batch with no progress for STALL_NOTICE_SECONDS: since when
    (console time), and when the reconciler picks it up again; else None."""
    if batch.is_final or batch.progress_at is None:
        return None
    now = now or timezone.now()
    if (now - batch.progress_at).total_seconds() < STALL_NOTICE_SECONDS:
        return None
    redrive = batch.progress_at + timedelta(seconds=settings.STALL_TIMEOUT_SECONDS)
    return {
        "since": console_time(batch.progress_at),
        "redrive": console_time(redrive) if redrive > now else "",
    }


def batch_result_counts(*, batch: BatchJob) -> dict[str, int]:
    """{valid, invalid, duplicate, failed} of a batch: the stored counts once it has ended,
    counted from its rows while it runs (finalize writes the stored ones at the end).
    `failed` rows were never validated (the batch was cancelled, failed or force-completed)."""
    if batch.is_final:
        return {
            "valid": batch.valid_count,
            "invalid": batch.invalid_count,
            "duplicate": batch.duplicate_count,
            "failed": batch.failed_count,
        }
    counts = batch_lead_counts(batch_pk=batch.pk)
    return {status: counts[status] for status in ("valid", "invalid", "duplicate", "failed")}


# Each chunk pays a fixed cost whatever its size (a Celery task and its stored result, the
# chord's counter, a transaction, a dozen statements): a big batch takes bigger chunks, so it
# is cut into about this many, each at most CHUNK_MAX_ROWS rows (a chunk holds its rows in
# memory) and at least CHUNK_SIZE.
CHUNKS_PER_BATCH = 24
CHUNK_MAX_ROWS = 5000


def chunk_size_for(*, total: int) -> int:
    """Rows per chunk for a batch of `total` rows: CHUNK_SIZE, more for big batches."""
    wanted = -(-total // CHUNKS_PER_BATCH)  # ceil
    return max(settings.CHUNK_SIZE, min(CHUNK_MAX_ROWS, wanted))


def batch_pending_ranges(*, batch_pk: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Return the chunk ranges (first_seq, last_seq) that still hold pending rows."""
    if chunk_size is None:
        total = BatchJob.objects.filter(pk=batch_pk).values_list("total_leads", flat=True).first()
        chunk_size = chunk_size_for(total=total or 0)
    size = chunk_size
    seqs = LeadValidation.objects.filter(batch_id=batch_pk, status=LeadStatus.PENDING).values_list(
        "seq", flat=True
    )
    starts = sorted({(seq - 1) // size * size + 1 for seq in seqs.iterator(chunk_size=5000)})
    return [(start, start + size - 1) for start in starts]


def chunk_ranges(*, total: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Split rows 1..total into chunk ranges."""
    size = chunk_size or chunk_size_for(total=total)
    return [(start, min(start + size - 1, total)) for start in range(1, total + 1, size)]


def supplier_headers(*, leads: QuerySet[LeadValidation]) -> list[str]:
    """Return the supplier's column labels of the files these leads came from, in order.

    The first file's columns in its order (its sheets in workbook order), then each later
    file's new ones: read from the files' column mappings in one query, never from the
    lead rows (a file's leads are its range of `seq`).
    """
    from_file = leads.filter(
        batch_id=OuterRef("batch_id"),
        seq__gte=OuterRef("first_seq"),
        seq__lt=OuterRef("first_seq") + OuterRef("row_count"),
    )
    mappings = (
        BatchFile.objects.filter(Exists(from_file))
        .order_by("batch_id", "position")
        .values_list("column_mapping", flat=True)
    )
    labels: dict[str, None] = {}
    for sheets in mappings:
        for sheet in sheets:
            # Keys are column indexes as text; PostgreSQL's jsonb keeps them in its own order.
            extra = sheet.get("extra") or {}
            for index in sorted(extra, key=int):
                labels.setdefault(extra[index], None)
    return list(labels)


def batch_customer_slug(batch: BatchJob) -> str:
    """The slug of the customer a batch's leads are validated for, as payloads name it."""
    return Customer.objects.filter(pk=batch.customer_id).values_list("slug", flat=True).get()
