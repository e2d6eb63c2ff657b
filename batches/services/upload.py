"""Upload: check files up front, then store them and create a pending batch."""

import dataclasses
import logging
from collections.abc import Sequence
from typing import Protocol

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from batches.models import BatchFile, BatchJob, default_customer_pk
from batches.reading import (
    MISSING_COLUMNS,
    FileRefused,
    FileSummary,
    ambiguous_refusal,
    inspect_file,
)
from batches.selectors import header_aliases
from batches.services.dispatch import split_queue
from batches.services.mapping import mapping_profiles_apply
from batches.services.quotas import upload_quota_problem

logger = logging.getLogger(__name__)


class UploadFile(Protocol):
    name: str
    size: int

    def seek(self, offset: int, whence: int = 0) -> int: ...
    def read(self, size: int = -1) -> bytes: ...


class BatchRefused(Exception):
    """An upload refused before anything was stored; `code` is DESIGN's error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _display_name(upload: UploadFile) -> str:
    return str(upload.name).replace("\\", "/").rsplit("/", 1)[-1] or "upload"


def _display_names(files: Sequence[UploadFile]) -> list[str]:
    """Each file's base name, a repeat made distinct ("leads (2).csv"): a lead's
    `source_file` and a duplicate's "file:row" must say which of two exports it came from."""
    names: list[str] = []
    for upload in files:
        name = _display_name(upload)
        stem, dot, extension = name.rpartition(".")
        if not dot:
            stem, extension = name, ""
        copy = 1
        while name in names:
            copy += 1
            name = f"{stem} ({copy}){dot}{extension}"
        names.append(name)
    return names


def batch_inspect(
    *, files: Sequence[UploadFile], customer=None, preview: bool = False
) -> list[FileSummary]:
    """Check every file (type, size, encoding, columns, rows); raise BatchRefused.

    A file or worksheet whose header row has a remembered mapping profile is mapped by it:
    the upload's customer's (``customer``, default `default`) own, else a shared one.
    Columns that look like one same field ("Phone" and "Mobile") are refused unless a
    profile chose between them, or the mapping goes to an operator's ``preview``, which
    says how they were settled for now and lets them choose.
    """
    if not files:
        raise BatchRefused("file_empty", "No file was uploaded.")
    max_bytes = settings.MAX_UPLOAD_MB * 1024 * 1024
    max_rows = settings.MAX_LEADS_PER_BATCH
    aliases = header_aliases()
    summaries = []
    rows = 0
    # MAX_UPLOAD_MB bounds the upload, all its files together: checked before any is read.
    total = sum(upload.size for upload in files)
    names = _display_names(files)
    for upload, name in zip(files, names, strict=True):
        if upload.size > max_bytes:
            raise BatchRefused(
                "too_large",
                f"{name}: {upload.size / 1048576:.1f} MB is over the {settings.MAX_UPLOAD_MB} MB "
                "limit (MAX_UPLOAD_MB).",
            )
    if total > max_bytes:
        raise BatchRefused(
            "too_large",
            f"The {len(files)} files of this upload are {total / 1048576:.1f} MB together, over "
            f"the {settings.MAX_UPLOAD_MB} MB limit of one upload (MAX_UPLOAD_MB).",
        )
    for upload, name in zip(files, names, strict=True):
        try:
            summary = inspect_file(
                upload,
                name=name,
                max_rows=max_rows - rows,
                max_bytes=max_bytes,
                aliases=aliases,
                fuzzy_threshold=settings.HEADER_FUZZY_THRESHOLD,
                settle_ambiguous=True,
            )
        except FileRefused as refused:
            if refused.code == "too_many_rows":
                raise BatchRefused(
                    "too_many_rows",
                    f"{name}: the upload has more than {max_rows:,} leads (MAX_LEADS_PER_BATCH).",
                ) from refused
            raise BatchRefused(refused.code, str(refused)) from refused
        rows += summary.row_count
        summaries.append(summary)
        upload.seek(0)
    customer_pk = customer.pk if customer is not None else default_customer_pk()
    summaries = mapping_profiles_apply(
        summaries=summaries, aliases=aliases, customer_pk=customer_pk
    )
    if not preview:
        _refuse_ambiguous(summaries)
    return summaries


def _refuse_ambiguous(summaries: Sequence[FileSummary]) -> None:
    for summary in summaries:
        for mapping in summary.mappings:
            if mapping.ambiguous:
                refused = ambiguous_refusal(
                    mapping.ambiguous[0], worksheet=mapping.worksheet, file_name=summary.name
                )
                # Two columns for one field is a problem with the columns, like a missing
                # one: the public codes (DESIGN) have no separate code for it.
                raise BatchRefused(MISSING_COLUMNS, str(refused))


def batch_create(
    *,
    files: Sequence[UploadFile],
    user=None,
    webhook_url: str = "",
    revalidate_existing: bool = False,
    summaries: Sequence[FileSummary] | None = None,
    queue: bool = True,
    customer=None,
) -> BatchJob:
    """Check, store and register an upload as one pending batch; queue it after commit.

    `queue=False` leaves the batch pending for an in-process run (`import_batch --inline`).
    The batch belongs to ``customer`` (default: `default`); its quotas are checked first.
    """
    if summaries is None:
        summaries = batch_inspect(files=files, customer=customer)
    stored: list[BatchFile] = []
    try:
        with transaction.atomic():
            customer_pk = customer.pk if customer is not None else default_customer_pk()
            total = sum(s.row_count for s in summaries)
            problem = upload_quota_problem(customer_pk=customer_pk, rows=total)
            if problem:
                raise BatchRefused(*problem)
            batch = BatchJob.objects.create(
                customer_id=customer_pk,
                created_by=user if user is not None and user.is_authenticated else None,
                webhook_url=webhook_url,
                revalidate_existing=revalidate_existing,
                total_leads=total,
                progress_at=timezone.now(),
            )
            first_seq = 1
            for position, (upload, summary) in enumerate(zip(files, summaries, strict=True)):
                upload.seek(0)
                batch_file = BatchFile(
                    batch=batch,
                    position=position,
                    name=summary.name,
                    size=upload.size,
                    kind=summary.kind,
                    encoding=summary.encoding,
                    delimiter=summary.delimiter,
                    row_count=summary.row_count,
                    first_seq=first_seq,
                    column_mapping=[dataclasses.asdict(m) for m in summary.mappings],
                )
                stored_name = _storage_name(summary.name)
                batch_file.file.save(stored_name, _as_file(upload, stored_name), save=False)
                stored.append(batch_file)
                batch_file.save()
                first_seq += summary.row_count
            if queue:
                transaction.on_commit(lambda: split_queue(batch_pk=batch.pk))
    except BaseException:
        for batch_file in stored:
            batch_file.file.delete(save=False)
        raise
    logger.info(
        "batch.created",
        extra={"batch_id": batch.batch_id, "total_leads": batch.total_leads, "files": len(files)},
    )
    return batch


# A file system takes names of at most 255 bytes; storage may add "_" and 7 characters to
# a name already taken. A name of accented or CJK letters passes Django's 255-character cut
# at two or three bytes each.
_STORED_NAME_BYTES = 200


def _storage_name(name: str) -> str:
    """The name to store a file under: cut to _STORED_NAME_BYTES of UTF-8, keeping a short
    extension (the batch file keeps the name as given)."""
    root, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode()) > 16:
        root, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = _STORED_NAME_BYTES - len(suffix.encode())
    return root.encode()[:budget].decode("utf-8", "ignore") + suffix


def _as_file(upload: UploadFile, name: str) -> File:
    return upload if isinstance(upload, File) else File(upload, name=name)


def open_upload(path: str) -> File:
    """Open a local file as an upload (for the import command and tests)."""
    handle = open(path, "rb")  # noqa: SIM115 - the caller closes it
    return File(handle, name=path)
