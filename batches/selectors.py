"""Batch reads: header aliases, counts computed from the lead rows, pending row ranges."""

from django.conf import settings
from django.db.models import Count, Q

from batches.reading import DEFAULT_ALIASES
from leads.models import LeadStatus, LeadValidation


def header_aliases() -> dict[str, tuple[str, ...]]:
    """Return the header aliases per field."""
    return dict(DEFAULT_ALIASES)


def batch_lead_counts(*, batch_pk: int) -> dict[str, int]:
    """Count a batch's rows by status, straight from the rows."""
    by_status = {status: Count("pk", filter=Q(status=status)) for status in LeadStatus.values}
    counts = LeadValidation.objects.filter(batch_id=batch_pk).aggregate(
        total=Count("pk"), **by_status
    )
    return counts


def batch_pending_ranges(*, batch_pk: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Return the chunk ranges (first_seq, last_seq) that still hold pending rows."""
    size = chunk_size or settings.CHUNK_SIZE
    seqs = LeadValidation.objects.filter(batch_id=batch_pk, status=LeadStatus.PENDING).values_list(
        "seq", flat=True
    )
    starts = sorted({(seq - 1) // size * size + 1 for seq in seqs.iterator(chunk_size=5000)})
    return [(start, start + size - 1) for start in starts]


def chunk_ranges(*, total: int, chunk_size: int | None = None) -> list[tuple[int, int]]:
    """Split rows 1..total into chunk ranges."""
    size = chunk_size or settings.CHUNK_SIZE
    return [(start, min(start + size - 1, total)) for start in range(1, total + 1, size)]
