"""Read uploaded lead files (CSV, .xlsx, .xls, .ods) as a stream of raw rows; no Django here."""

from batches.reading.errors import (
    AMBIGUOUS_COLUMNS,
    FILE_EMPTY,
    MALFORMED_FILE,
    MISSING_COLUMNS,
    NO_DATA_ROWS,
    NOT_TEXT,
    REFUSAL_CODES,
    TOO_LARGE,
    TOO_MANY_ROWS,
    FileRefused,
)
from batches.reading.files import inspect_file, iter_rows
from batches.reading.headers import (
    DEFAULT_ALIASES,
    FIELDS,
    REQUIRED_FIELDS,
    ColumnMapping,
    ambiguous_refusal,
    mapping_for_headers,
    normalise_header,
)
from batches.reading.records import FileSummary, RawRow

__all__ = [
    "AMBIGUOUS_COLUMNS",
    "DEFAULT_ALIASES",
    "FIELDS",
    "FILE_EMPTY",
    "MALFORMED_FILE",
    "MISSING_COLUMNS",
    "NOT_TEXT",
    "NO_DATA_ROWS",
    "REFUSAL_CODES",
    "REQUIRED_FIELDS",
    "TOO_LARGE",
    "TOO_MANY_ROWS",
    "ColumnMapping",
    "FileRefused",
    "FileSummary",
    "RawRow",
    "ambiguous_refusal",
    "inspect_file",
    "iter_rows",
    "mapping_for_headers",
    "normalise_header",
]
