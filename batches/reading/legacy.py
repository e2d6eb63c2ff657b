"""Vet a legacy .xls workbook (BIFF8 in an OLE2 compound file) before calamine opens it."""

from batches.reading import biff
from batches.reading.archive import EXPANSION_LIMIT, MAX_SHARED_STRINGS, MAX_SHEET_CELLS
from batches.reading.compound import CompoundError, CompoundFile, NotCompound
from batches.reading.errors import MALFORMED_FILE, NOT_TEXT, TOO_LARGE, FileRefused, megabytes

_SAVE_AGAIN = "open it in Excel and save it again as .xlsx, or as .csv"


def check_legacy_workbook(data: bytes, *, name: str, max_bytes: int) -> None:
    """Refuse a damaged, protected or oversized .xls; return quietly when calamine may read it."""
    try:
        container = CompoundFile(data)
        container.check_all()
        stream = container.stream("Workbook", "Book")
    except NotCompound as exc:
        raise FileRefused(
            NOT_TEXT, f"binary data, not a CSV file or a workbook ({exc})", file_name=name
        ) from None
    except CompoundError as exc:
        raise _malformed(f"a damaged .xls workbook: {exc}", name) from None
    if stream is None:
        if "EncryptedPackage" in container.names():
            raise _protected(name)
        raise _malformed(
            "an Office file with no workbook inside (a Word or Outlook file?), not an .xls", name
        )
    try:
        found = biff.measure(stream, max_strings=MAX_SHARED_STRINGS)
    except biff.Encrypted:
        raise _protected(name) from None
    except biff.BiffError as exc:
        raise _malformed(f"a damaged .xls workbook: {exc}", name) from None
    if found.shared_strings > MAX_SHARED_STRINGS:
        raise FileRefused(
            TOO_LARGE,
            f"the workbook declares {found.shared_strings:,} shared strings, over the limit "
            f"of {MAX_SHARED_STRINGS:,}",
            file_name=name,
        )
    for number, sheet in enumerate(found.sheets, start=1):
        if sheet.cells > MAX_SHEET_CELLS:
            rows = max(sheet.declared_rows, sheet.rows)
            columns = max(sheet.declared_columns, sheet.columns)
            raise FileRefused(
                TOO_LARGE,
                f"worksheet {number} spans {rows:,} rows by {columns:,} columns, "
                f"over the limit of {MAX_SHEET_CELLS:,} cells a worksheet",
                file_name=name,
            )
    if found.shared_text > EXPANSION_LIMIT * max_bytes:
        raise FileRefused(
            TOO_LARGE,
            f"the workbook's shared strings, counted in every cell that uses them, come to "
            f"{found.shared_text:,} characters: over {EXPANSION_LIMIT} times the "
            f"{megabytes(max_bytes)} upload limit (MAX_UPLOAD_MB)",
            file_name=name,
        )


def _malformed(detail: str, name: str) -> FileRefused:
    return FileRefused(MALFORMED_FILE, f"{detail}; {_SAVE_AGAIN}", file_name=name)


def _protected(name: str) -> FileRefused:
    return FileRefused(
        MALFORMED_FILE,
        "a password-protected workbook, which cannot be read: remove the password and save it "
        "as .xlsx, or as .csv",
        file_name=name,
    )
