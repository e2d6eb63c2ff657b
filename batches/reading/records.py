"""The values the reader hands back: a file's summary and its rows."""

from dataclasses import dataclass, field

from batches.reading.headers import ColumnMapping


@dataclass(frozen=True)
class FileSummary:
    """What one checked file holds and how to read it again."""

    name: str
    kind: str  # "csv" | "xlsx" | "xls" | "ods"
    encoding: str  # "" for xlsx
    delimiter: str  # "" for xlsx
    mappings: tuple[ColumnMapping, ...]  # one per non-empty worksheet, one for CSV
    row_count: int  # data rows, excluding headers and blank lines
    skipped_sheets: tuple[str, ...] = ()  # non-empty worksheets whose header names no field


@dataclass(slots=True)
class RawRow:
    """One data row as found in the file, before any validation."""

    source_file: str
    worksheet: str  # "" for CSV
    row_number: int  # 1-based spreadsheet row, header = 1
    fields: dict[str, object] = field(default_factory=dict)  # field -> str | datetime.date
    extra: dict[str, str] = field(default_factory=dict)  # unknown header -> value
    malformed: str | None = None
