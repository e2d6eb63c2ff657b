"""The one exception raised when an uploaded file is refused, and its codes."""

FILE_EMPTY = "file_empty"
NO_DATA_ROWS = "no_data_rows"
MISSING_COLUMNS = "missing_columns"
AMBIGUOUS_COLUMNS = "ambiguous_columns"
NOT_TEXT = "not_text"
TOO_MANY_ROWS = "too_many_rows"
TOO_LARGE = "too_large"
MALFORMED_FILE = "malformed_file"

REFUSAL_CODES = (
    FILE_EMPTY,
    NO_DATA_ROWS,
    MISSING_COLUMNS,
    AMBIGUOUS_COLUMNS,
    NOT_TEXT,
    TOO_MANY_ROWS,
    TOO_LARGE,
    MALFORMED_FILE,
)


class FileRefused(Exception):
    """A file that cannot be taken, with a stable `code` and a message for staff.

    `row` is the 1-based spreadsheet row (header = 1) and `column` a header name or a
    column letter, when the problem is that precise.
    """

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        file_name: str,
        row: int | None = None,
        column: str | None = None,
    ):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.file_name = file_name
        self.row = row
        self.column = column

    def __str__(self) -> str:
        where = self.file_name or "the file"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.detail}"

    def __repr__(self) -> str:
        return (
            f"FileRefused({self.code!r}, {self.detail!r}, file_name={self.file_name!r}, "
            f"row={self.row!r}, column={self.column!r})"
        )

    def __reduce__(self):
        # Keyword-only arguments defeat Exception's default pickling (Celery pickles errors).
        return _rebuild, (type(self), self.code, self.detail, self.file_name, self.row, self.column)


def _rebuild(cls, code, detail, file_name, row, column):
    return cls(code, detail, file_name=file_name, row=row, column=column)


def megabytes(size: int) -> str:
    """A size in bytes as people read an upload limit: "20 MB", "414.2 MB", "3 KB"."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024)):,} KB"
    return f"{size / 1048576:,.1f}".removesuffix(".0") + " MB"
