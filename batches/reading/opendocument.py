"""Vet an OpenDocument spreadsheet: its tables measured before anything expands their repeats.

A row or cell may say it repeats (table:number-rows-repeated, number-columns-repeated), and
readers expand it: one cell repeated 2,000 times in a row repeated 10,000 times is 894 bytes
that read as 20,000,000 cells. Trailing empty repeats (how LibreOffice pads a sheet to its
full size) hold nothing and are not counted.
"""

import posixpath
import re

from batches.reading import sheet_scan
from batches.reading.errors import MALFORMED_FILE, TOO_LARGE, FileRefused

_P = rb"(?:[A-Za-z_][\w.\-]*:)?"
_TAG = re.compile(
    rb"<(/?)" + _P + rb"(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*)>"
)
_ROWS_REPEATED = re.compile(rb"""number-rows-repeated\s*=\s*["']\s*([0-9]{1,12})\s*["']""")
_COLUMNS_REPEATED = re.compile(rb"""number-columns-repeated\s*=\s*["']\s*([0-9]{1,12})\s*["']""")
_VALUE_TYPE = re.compile(rb"value-type\s*=")
_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def check_opendocument(read, members, *, name: str, max_cells: int) -> None:
    """Refuse an OpenDocument zip that is no spreadsheet, expands too far, or is not named
    .ods (only the name .ods says the sender meant one); `read(member)` yields its bytes."""
    extension = posixpath.splitext(name)[1].lower()
    if extension == ".ods":
        member = members.get("mimetype")
        mimetype = b""
        if member is not None and member.file_size <= 200:  # one line of ASCII
            mimetype = b"".join(read(member)).strip()
        if mimetype != _MIMETYPE or "content.xml" not in members:
            shown = mimetype.decode("ascii", "replace") or "no spreadsheet content"
            raise FileRefused(
                MALFORMED_FILE,
                f"this .ods is not an OpenDocument spreadsheet ({shown})",
                file_name=name,
            )
    if "content.xml" in members:
        extent = TableExtent()
        sheet_scan.scan_member(
            read(members["content.xml"]), [extent], member="content.xml", file_name=name
        )
        if extent.cells > max_cells:
            raise FileRefused(
                TOO_LARGE,
                f"an OpenDocument spreadsheet whose repeated rows and columns expand to "
                f"{extent.rows:,} rows by {extent.columns:,} columns, over the limit of "
                f"{max_cells:,} cells a worksheet",
                file_name=name,
            )
    if extension != ".ods":
        claimed = f"this {extension}" if extension else "this file"
        raise FileRefused(
            MALFORMED_FILE,
            f"{claimed} is an OpenDocument spreadsheet (.ods), not an .xlsx workbook: "
            "save it as .xlsx or .csv",
            file_name=name,
        )


class TableExtent:
    """The largest table's rows x columns, counting repeats up to the last filled cell.

    A cell is filled when it has a value type or anything inside it; a self-closing one
    without a value is padding.
    """

    def __init__(self):
        self.rows = self.columns = 0  # of the largest table
        self._rows = self._columns = 0  # of the current table
        self._row = 0  # rows passed in the current table, repeats included
        self._repeat = 1  # the current row's repeat count
        self._column = 0  # columns passed in the current row
        self._filled = 0  # the current row's last filled column

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def skip(self, count: int) -> None:
        pass

    def scan(self, xml: bytes) -> None:
        for match in _TAG.finditer(xml):
            closing, kind, attrs = match.groups()
            if closing:
                if kind == b"table-row":
                    self._end_row()
                elif kind == b"table":
                    self._rows = self._columns = self._row = 0
            elif kind == b"table-row":
                self._repeat = _number(_ROWS_REPEATED, attrs)
                self._column = self._filled = 0
                if attrs.endswith(b"/"):
                    self._end_row()
            elif kind == b"table":
                self._rows = self._columns = self._row = 0
            else:
                self._column += _number(_COLUMNS_REPEATED, attrs)
                if not attrs.endswith(b"/") or _VALUE_TYPE.search(attrs):
                    self._filled = self._column

    def _end_row(self) -> None:
        self._row += self._repeat
        if self._filled:
            self._rows = self._row
            self._columns = max(self._columns, self._filled)
            if self._rows * self._columns > self.cells:
                self.rows, self.columns = self._rows, self._columns
        self._repeat, self._filled = 1, 0


def _number(pattern: re.Pattern, attrs: bytes) -> int:
    found = pattern.search(attrs)
    return max(1, int(found.group(1))) if found else 1
