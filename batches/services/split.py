"""Split: stream a batch's files into pending lead rows, in one transaction."""

import logging
import time
from collections.abc import Iterator
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from batches.models import BatchFile, BatchJob, BatchStatus
from batches.reading import ColumnMapping, FileSummary, iter_rows
from batches.selectors import chunk_ranges
from leads.rules import lead_id_for
from leads.services import NewLead, leads_insert, leads_mark_in_batch_duplicates
from valify.bulk import relax_commit_durability

logger = logging.getLogger(__name__)


def batch_split(*, batch_pk: int) -> list[tuple[int, int]]:
    """Write one pending row per data row and return the chunk ranges to validate.

    Run again on a batch already split, it writes nothing and returns no ranges, so a
    redelivered split task is harmless.
    """
    started = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        relax_commit_durability()
        claimed = BatchJob.objects.filter(pk=batch_pk, status=BatchStatus.PENDING).update(
            status=BatchStatus.PROCESSING, started_at=now, progress_at=now
        )
        batch = BatchJob.objects.get(pk=batch_pk)
        if not claimed:
            # Already split (a redelivered task): the reconciler owns stalled batches.
            return []
        # Read the file list first: no other query may run on the connection during COPY.
        files = list(batch.files.order_by("position"))
        written = leads_insert(batch_pk=batch_pk, leads=_batch_rows(files), now=now)
        leads_mark_in_batch_duplicates(batch_pk=batch_pk)
        seconds = time.perf_counter() - started
        BatchJob.objects.filter(pk=batch_pk).update(total_leads=written, split_seconds=seconds)
    logger.info(
        "batch.split",
        extra={"batch_id": batch.batch_id, "rows": written, "seconds": round(seconds, 3)},
    )
    return chunk_ranges(total=written)


def _batch_rows(files: list[BatchFile]) -> Iterator[NewLead]:
    seq = 0
    for batch_file in files:
        summary = file_summary(batch_file)
        with batch_file.file.open("rb") as handle:
            for row in iter_rows(handle, name=batch_file.name, summary=summary):
                seq += 1
                # The reader yields stripped strings, and dates for workbook date cells.
                fields = row.fields
                first = fields.get("first_name") or ""
                last = fields.get("last_name") or ""
                dob = fields.get("dob")
                dob_text = _text(dob)
                raw = {k: v if isinstance(v, str) else _text(v) for k, v in fields.items()}
                raw.update(row.extra)
                yield NewLead(
                    seq=seq,
                    source_file=row.source_file,
                    worksheet=row.worksheet,
                    row_number=row.row_number,
                    lead_id=lead_id_for(first, last, dob),
                    first_name=first[:255],
                    last_name=last[:255],
                    dob_raw=dob_text[:255],
                    email=(fields.get("email") or "")[:320],
                    phone=(fields.get("phone") or "")[:64],
                    company=(fields.get("company") or "")[:255],
                    raw=raw,
                    malformed=(row.malformed or "")[:255],
                )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def file_summary(batch_file: BatchFile) -> FileSummary:
    """Rebuild the summary taken at upload, so the split need not inspect the file again."""
    mappings = tuple(
        ColumnMapping(
            worksheet=m["worksheet"],
            headers=tuple(m["headers"]),
            fields=dict(m["fields"]),
            matched_by=dict(m["matched_by"]),
            extra={int(k): v for k, v in m["extra"].items()},
        )
        for m in batch_file.column_mapping
    )
    return FileSummary(
        name=batch_file.name,
        kind=batch_file.kind,
        encoding=batch_file.encoding,
        delimiter=batch_file.delimiter,
        mappings=mappings,
        row_count=batch_file.row_count,
    )
