"""Process a batch entirely in this process: the same services, no broker or worker."""

from collections.abc import Callable

from batches.models import BatchJob
from batches.services.chunks import chunk_validate
from batches.services.lifecycle import batch_finalize
from batches.services.split import batch_split


def batch_process_inline(
    *, batch: BatchJob, on_progress: Callable[[int, int], None] | None = None
) -> BatchJob:
    """Split, validate every chunk and finalize, reporting (processed, total) as it goes."""
    ranges = batch_split(batch_pk=batch.pk)
    batch.refresh_from_db()
    processed = 0
    for first, last in ranges:
        processed += chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)["processed"]
        if on_progress:
            on_progress(processed, batch.total_leads)
    batch_finalize(batch_pk=batch.pk)
    batch.refresh_from_db()
    return batch
