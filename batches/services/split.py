"""Split: stream a batch's files into pending lead rows, in one transaction."""

import logging
import time
from collections.abc import Iterator
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from batches.models import BatchFile, BatchJob, BatchStatus
from batches.reading import FIELDS, ColumnMapping, FileSummary, iter_rows
from batches.selectors import chunk_ranges
from batches.services.dedupe import InBatchDuplicates
from customers.selectors import customer_policy
from leads.models import LeadValidation
from leads.rules import (
    PLACEHOLDERS,
    clean_website,
    display_name,
    lead_id_for,
    normalise_phone,
    parse_consent_at,
    postcode_text,
    split_full_name,
    without_title,
)
from leads.services import NewLead, leads_insert, leads_link_duplicates, leads_merge_fields
from valify.bulk import analyze, relax_commit_durability

logger = logging.getLogger(__name__)

_FIELD_KEYS = frozenset(FIELDS)


def batch_split(*, batch_pk: int) -> list[tuple[int, int]]:
    """Write one pending row per data row and return the chunk ranges to validate.

    Rows are cleaned on the way (names, a full name split, email, company, website, postcode,
    the consent date read to UTC), the supplier's columns kept apart, in-batch duplicates are
    linked to their first occurrence and fill its empty optional fields, so a chunk sees
    the merged first occurrence whichever chunk runs first. Run again on a batch already
    split, it writes nothing and returns no ranges, so a redelivered split task is harmless.
    """
    started = time.perf_counter()
    now = timezone.now()
    customer_pk = BatchJob.objects.filter(pk=batch_pk).values_list("customer_id", flat=True)
    policy = customer_policy(customer_pk.first())
    duplicates = InBatchDuplicates(
        on_email=policy.dedupe_on_email,
        on_phone=policy.dedupe_on_phone,
        phone_region=settings.PHONE_DEFAULT_REGION,
    )
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
        try:
            written = leads_insert(batch_pk=batch_pk, leads=_batch_rows(files, duplicates), now=now)
        finally:
            duplicates.close()  # its links and merges are kept; the first occurrences go
        leads_link_duplicates(batch_pk=batch_pk, links=duplicates.links)
        merged = leads_merge_fields(batch_pk=batch_pk, merges=duplicates.merges)
        seconds = time.perf_counter() - started
        BatchJob.objects.filter(pk=batch_pk).update(total_leads=written, split_seconds=seconds)
    # Chunks select and update their rows by seq range; without statistics on the rows just
    # written, each of those statements would walk every pending row of the batch.
    analyze(LeadValidation._meta.db_table, ("batch_id", "seq", "status"))
    logger.info(
        "batch.split",
        extra={
            "batch_id": batch.batch_id,
            "rows": written,
            "merged": merged,
            "seconds": round(seconds, 3),
        },
    )
    return chunk_ranges(total=written)


def _batch_rows(files: list[BatchFile], duplicates: InBatchDuplicates) -> Iterator[NewLead]:
    """Stream every file's rows as cleaned NewLeads, telling `duplicates` about each one.

    This runs once per row of 100,000-row files: no queries, nothing per row beyond a few
    dict operations and cached name look-ups.
    """
    seq = 0
    see, phone_region = duplicates.see, duplicates.phone_region
    time_zone = settings.TIME_ZONE
    for batch_file in files:
        summary = file_summary(batch_file)
        with batch_file.file.open("rb") as handle:
            for row in iter_rows(handle, name=batch_file.name, summary=summary):
                seq += 1
                # The reader yields stripped strings, and dates for workbook date cells
                # (which may sit in any column, not only dob).
                fields = row.fields
                raw = {k: v if type(v) is str else _text(v) for k, v in fields.items()}
                cells = raw
                if not PLACEHOLDERS.isdisjoint(raw.values()):
                    # "N/A", "none", "-": no value. `raw` keeps them, as given.
                    cells = {k: "" if v in PLACEHOLDERS else v for k, v in raw.items()}
                get = cells.get
                if "full_name" in raw:
                    # Mapped only when the file has no first or last name column.
                    first, last = split_full_name(cells["full_name"])
                    first, last = display_name(first), display_name(last)
                else:
                    first = display_name(get("first_name", ""))
                    if " " in first:
                        first = without_title(first)
                    last = display_name(get("last_name", ""))
                dob = fields.get("dob") if get("dob") else None
                email = get("email", "")  # as given: the chunk normalises it when valid
                company = get("company", "")
                if company:
                    company = " ".join(company.split())
                website = get("website", "")
                if website:
                    website = raw["website"] = clean_website(website)
                lead_id = lead_id_for(first, last, dob)
                phone = get("phone", "")
                if see(seq, lead_id, email, phone, company, website, row) and phone:
                    # A duplicate is never validated, so its phone is put in E.164 here (a
                    # few rows in a hundred; phonenumbers is too slow to run on every row).
                    phone = normalise_phone(phone, phone_region) or phone
                postcode = get("postcode", "")
                if postcode:
                    postcode = postcode_text(postcode)
                consent = fields.get("consent_at") if get("consent_at") else None
                extra = row.extra
                if _FIELD_KEYS.isdisjoint(extra):
                    raw.update(extra)
                else:
                    # A supplier column headed like a field the file does not map ("full_name"
                    # beside first and last names) stays in `extra` only: in the raw row it
                    # would read as that field (to the AI standardiser, the consent check).
                    raw.update({k: v for k, v in extra.items() if k not in _FIELD_KEYS})
                yield NewLead(
                    seq=seq,
                    source_file=row.source_file,
                    worksheet=row.worksheet,
                    row_number=row.row_number,
                    lead_id=lead_id,
                    first_name=first[:255],
                    last_name=last[:255],
                    dob_raw=get("dob", "")[:255],
                    email=email[:320],
                    phone=phone[:64],
                    company=company[:255],
                    raw=raw,
                    malformed=(row.malformed or "")[:255],
                    website=website[:255],
                    postcode=postcode[:16],
                    reference=get("reference", "")[:255],
                    consent_at=parse_consent_at(consent, time_zone) if consent else None,
                    consent_source=get("consent_source", "")[:1000],
                    consent_text=get("consent_text", ""),
                    extra=extra,
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
            row_count=m.get("row_count", 0),
            notes=tuple(m.get("notes", ())),
            profile=m.get("profile", ""),
            header_row=m.get("header_row", 0),
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
