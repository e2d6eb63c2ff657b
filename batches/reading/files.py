"""The two entry points: inspect a file once, then stream its rows."""

from collections.abc import Iterator, Mapping, Sequence
from typing import BinaryIO

from batches.reading.compound import MAGIC as OLE2_MAGIC
from batches.reading.csv_files import inspect_csv, iter_csv
from batches.reading.detect import (
    ZIP_MAGIC,
    file_size,
    guess_encoding,
    read_sample,
    refuse_disguised_text,
    refuse_known_binary,
    sniff_delimiter,
)
from batches.reading.errors import FILE_EMPTY, TOO_LARGE, FileRefused, megabytes
from batches.reading.records import FileSummary, RawRow
from batches.reading.workbooks import inspect_legacy_workbook, inspect_workbook, iter_workbook

WORKBOOK_KINDS = ("xlsx", "xls", "ods")


def inspect_file(
    fileobj: BinaryIO,
    *,
    name: str,
    max_rows: int,
    max_bytes: int,
    aliases: Mapping[str, Sequence[str]] | None = None,
    fuzzy_threshold: int = 85,
    settle_ambiguous: bool = False,
) -> FileSummary:
    """Check a CSV or workbook (.xlsx, .xls, .ods) upload in one streaming pass; raise FileRefused.

    The file object needs read() and seek(); it is rewound before this returns or raises.
    `settle_ambiguous`: see mapping_for_headers.
    """
    try:
        size = file_size(fileobj)
        if size == 0:
            raise FileRefused(FILE_EMPTY, "the file is empty (0 bytes)", file_name=name)
        if size > max_bytes:
            raise FileRefused(
                TOO_LARGE,
                f"{megabytes(size)} is over the {megabytes(max_bytes)} upload limit "
                "(MAX_UPLOAD_MB)",
                file_name=name,
            )
        sample = read_sample(fileobj)
        options = {
            "max_rows": max_rows,
            "aliases": aliases,
            "fuzzy_threshold": fuzzy_threshold,
            "settle_ambiguous": settle_ambiguous,
        }
        # By content, not by name: an .xlsx saved as "leads.xls" is read as the .xlsx it is.
        if sample.startswith(ZIP_MAGIC):
            return inspect_workbook(fileobj, name=name, max_bytes=max_bytes, **options)
        if sample.startswith(OLE2_MAGIC):
            return inspect_legacy_workbook(fileobj, name=name, max_bytes=max_bytes, **options)
        refuse_known_binary(sample, file_name=name)
        refuse_disguised_text(sample, name)
        guess = guess_encoding(sample, complete=len(sample) >= size, file_name=name)
        return inspect_csv(
            fileobj,
            name=name,
            encoding=guess.encoding,
            tentative=guess.tentative,
            delimiter=sniff_delimiter(guess.sample),
            **options,
        )
    finally:
        fileobj.seek(0)


def iter_rows(fileobj: BinaryIO, *, name: str, summary: FileSummary) -> Iterator[RawRow]:
    """Stream the data rows in file order (worksheets in workbook order).

    Reuses the summary's encoding, delimiter and mappings; blank rows are skipped.
    """
    if summary.kind in WORKBOOK_KINDS:
        return iter_workbook(fileobj, name=name, summary=summary)
    if summary.kind == "csv":
        return iter_csv(fileobj, name=name, summary=summary)
    raise ValueError(f"unknown file kind {summary.kind!r}")
