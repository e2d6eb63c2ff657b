"""Stream delimited text files: decode incrementally, count or yield the rows."""

import codecs
import csv
import dataclasses
import io
import itertools
from collections.abc import Iterator, Mapping, Sequence

from batches.reading.blank_columns import BlankColumns
from batches.reading.detect import mostly_utf8_file, utf8_before_its_error
from batches.reading.errors import (
    MALFORMED_FILE,
    NO_DATA_ROWS,
    NOT_TEXT,
    TOO_MANY_ROWS,
    FileRefused,
)
from batches.reading.header_search import locate_header
from batches.reading.headers import ColumnMapping, mapping_for_headers
from batches.reading.not_leads import RowsWithoutLeads
from batches.reading.records import FileSummary, RawRow

MAX_LINE_CHARS = 65_536
FALLBACK_ENCODING = "cp1252"
_BUFFER = 64 * 1024
_MARK = "\udc00"  # a lone surrogate: no strict decoder ever produces one


def _mark_undecodable(error: UnicodeDecodeError) -> tuple[str, int]:
    return _MARK, error.end


codecs.register_error("batches.reading.mark", _mark_undecodable)


class _BadLine(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


class _Undecodable(Exception):
    """A byte sequence the chosen codec cannot decode, somewhere past the sample."""


class _Source(io.RawIOBase):
    """Raw-IO view of any readable binary object; closing it leaves the object open."""

    def __init__(self, fileobj):
        super().__init__()
        self._read = fileobj.read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._read(len(buffer))
        size = len(data)
        buffer[:size] = data
        return size


def _open_text(fileobj, encoding: str, errors: str = "strict") -> io.TextIOWrapper:
    fileobj.seek(0)
    text = io.TextIOWrapper(
        io.BufferedReader(_Source(fileobj), _BUFFER), encoding=encoding, errors=errors, newline=""
    )
    text._CHUNK_SIZE = _BUFFER  # decode in 64 KB steps rather than 8 KB
    return text


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    """Physical lines, never more than MAX_LINE_CHARS (+ line break) held at once."""
    readline = text.readline
    limit = MAX_LINE_CHARS + 2  # room for a "\r\n" after a line of exactly the limit
    while line := readline(limit):
        if len(line) > MAX_LINE_CHARS and len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
            raise _BadLine(MALFORMED_FILE, f"a line is longer than {MAX_LINE_CHARS:,} characters")
        if "\x00" in line:
            raise _BadLine(NOT_TEXT, "contains a NUL byte: binary data, not text")
        yield line


def _reader(text: io.TextIOWrapper, delimiter: str):
    return csv.reader(_lines(text), delimiter=delimiter, quotechar='"', doublequote=True)


def _is_blank(cells: list[str]) -> bool:
    """No value in any cell (a byte-order mark left by a UTF-16 file's codec is none)."""
    if not cells:
        return True
    first = cells[0].strip()
    if first and first != "\ufeff":
        return False
    return not "".join(cells).replace("\ufeff", "").strip()


def _refused(exc: Exception, row: int, file_name: str) -> Exception:
    """The refusal for an error met while reading the record on `row`."""
    if isinstance(exc, _BadLine):
        return FileRefused(exc.code, exc.detail, file_name=file_name, row=row)
    if isinstance(exc, csv.Error):
        detail = f"cannot be read as CSV ({exc})"
        if "field larger than field limit" in str(exc):
            detail = (
                f"a cell holds more than {csv.field_size_limit():,} characters: most often a "
                'quote (") left open above, which reads the rows after it as one cell'
            )
        return FileRefused(MALFORMED_FILE, detail, file_name=file_name, row=row)
    return _Undecodable()  # decoding runs ahead of parsing: the row is found later


_READ_ERRORS = (_BadLine, csv.Error, UnicodeDecodeError)


def _records(text: io.TextIOWrapper, delimiter: str, file_name: str):
    """Yield (spreadsheet row number, cells, lines before it, its lines) for each non-blank
    record, the lines being physical ones.

    Row numbers count records as a spreadsheet shows them: a blank line is a row, a quoted
    field spanning lines stays on the row where it starts.
    """
    number = before = 0
    reader = _reader(text, delimiter)
    try:
        for cells in reader:
            number += 1
            if not _is_blank(cells):
                yield number, cells, before, reader.line_num - before
            before = reader.line_num
    except _READ_ERRORS as exc:
        raise _refused(exc, number + 1, file_name) from None


def _check_quotes(number: int, cells: list[str], lines: int, width: int, delimiter: str, name: str):
    """Refuse a record whose quoted cell swallowed lines that read like rows of the file.

    A quoted cell may hold line breaks (a note, an address), and a row may be locally wrong
    (a cell too many or too few: kept as a malformed lead). But a quote opened by mistake
    reads every line up to the next quote as part of one cell, and the leads on those lines
    would be lost without a word. Lines inside a cell that hold as many delimiters as a row
    (two of them, or one with the row the wrong width) are taken for such rows. Called only
    for a record that ran over a line end (``lines`` > 1).
    """
    rowlike = sum(
        line.count(delimiter) >= width - 1
        for cell in cells
        if "\n" in cell or "\r" in cell
        for line in cell.splitlines()[1:]
    )
    if rowlike >= 2 or (rowlike and len(cells) != width):
        raise FileRefused(
            MALFORMED_FILE,
            f'a quote (") opened on this row is not closed where the row ends: {lines:,} '
            f"lines from here on were read as one row, {rowlike:,} of them looking like rows "
            f'of their own; close the quote, or double it ("") where it is part of a value',
            file_name=name,
            row=number,
        )


def _ends_inside_quote(fileobj, encoding: str, delimiter: str, start: int) -> bool:
    """Whether the file's text from physical line ``start`` on ends inside a quoted field,
    read as the csv module reads it (a quote opens a field only at its start; ``""`` inside
    one is a quote). Asked only of a last row that ran over line ends, so the second read is
    rare; the csv module itself, lenient, keeps what an unclosed quote ran over."""
    with _open_text(fileobj, encoding) as text:
        tail = "".join(itertools.islice(_lines(text), start, None))
    quoted, field_start = False, True
    at, end = 0, len(tail)
    while at < end:
        ch = tail[at]
        if quoted:
            if ch == '"':
                if tail.startswith('"', at + 1):
                    at += 1  # a doubled quote: part of the value
                else:
                    quoted = False
        elif ch == '"' and field_start:
            quoted = True
            field_start = False
        else:
            field_start = ch == delimiter or ch in "\r\n"
        at += 1
    return quoted


def _header_cells(cells: list[str]) -> list[str]:
    return [cell.replace("\ufeff", "").strip() for cell in cells]


def _count(
    fileobj, *, name, encoding, delimiter, max_rows, aliases, fuzzy_threshold, settle_ambiguous
):
    with _open_text(fileobj, encoding) as text:
        records = _records(text, delimiter, name)
        header = next(records, None)
        if header is None:
            raise FileRefused(NO_DATA_ROWS, "the file has only blank lines", file_name=name)
        mapping = locate_header(
            header[:2],
            (record[:2] for record in records),
            lambda cells: mapping_for_headers(
                _header_cells(cells),
                aliases=aliases,
                fuzzy_threshold=fuzzy_threshold,
                file_name=name,
                settle_ambiguous=settle_ambiguous,
            ),
        )
        width = len(mapping.headers)
        count = 0
        last = None
        no_lead = RowsWithoutLeads(mapping)
        dob_at, dob_header = mapping.fields.get("dob", width), no_lead.dob_header
        blank = BlankColumns(mapping)
        for number, cells, before, lines in records:
            if lines > 1:  # a quoted cell ran over a line end: look at it
                _check_quotes(number, cells, lines, width, delimiter, name)
            last = number, before, lines
            dob = cells[dob_at].strip() if dob_at < len(cells) else ""
            if (not dob or dob == dob_header) and no_lead.leave_out(number, cells):
                continue
            if blank.unseen:
                blank.see(cells)
            count += 1
            if count > max_rows:
                raise FileRefused(
                    TOO_MANY_ROWS, f"more than {max_rows:,} data rows", file_name=name, row=number
                )
    if last and last[2] > 1 and _ends_inside_quote(fileobj, encoding, delimiter, last[1]):
        number, _, lines = last
        raise FileRefused(
            MALFORMED_FILE,
            f'a quote (") opened on this row is never closed: the last {lines:,} lines of '
            f'the file were read as part of this row; close the quote, or double it ("") '
            f"where it is part of a value",
            file_name=name,
            row=number,
        )
    if not count:
        raise FileRefused(
            NO_DATA_ROWS, "the file has a header row but no data rows", file_name=name
        )
    notes = (*mapping.notes, *no_lead.notes())
    mapping = blank.mapping_without(mapping)
    return dataclasses.replace(mapping, row_count=count, notes=notes), count


def inspect_csv(
    fileobj,
    *,
    name: str,
    encoding: str,
    tentative: bool,
    delimiter: str,
    max_rows: int,
    aliases: Mapping[str, Sequence[str]] | None,
    fuzzy_threshold: int,
    settle_ambiguous: bool = False,
) -> FileSummary:
    """Check a delimited text file in one streaming pass and count its data rows.

    `tentative` means the sample was plain ASCII: should UTF-8 fail further on, the file is
    read again as Windows-1252 (the usual encoding of spreadsheet exports that are not UTF-8).
    """
    options = {
        "max_rows": max_rows,
        "aliases": aliases,
        "fuzzy_threshold": fuzzy_threshold,
        "settle_ambiguous": settle_ambiguous,
    }
    try:
        mapping, count = _count(
            fileobj, name=name, encoding=encoding, delimiter=delimiter, **options
        )
    except _Undecodable:
        # Read as Windows-1252, the file's UTF-8 letters would each become two.
        if not tentative or utf8_before_its_error(fileobj) or mostly_utf8_file(fileobj):
            raise _undecodable_refusal(fileobj, name, encoding, delimiter) from None
        encoding = FALLBACK_ENCODING
        try:
            mapping, count = _count(
                fileobj, name=name, encoding=encoding, delimiter=delimiter, **options
            )
        except _Undecodable:
            raise _undecodable_refusal(fileobj, name, encoding, delimiter) from None
    return FileSummary(
        name=name,
        kind="csv",
        encoding=encoding,
        delimiter=delimiter,
        mappings=(mapping,),
        row_count=count,
    )


def _undecodable_refusal(fileobj, name, encoding, delimiter) -> FileRefused:
    """Find the first row the codec cannot decode (decoding runs ahead of parsing)."""
    row = None
    with _open_text(fileobj, encoding, errors="batches.reading.mark") as text:
        try:
            for number, cells, _, _ in _records(text, delimiter, name):
                if _MARK in "".join(cells):
                    row = number
                    break
        except FileRefused:
            pass
    detail = f"contains bytes that are not valid {encoding} text"
    if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig"):
        # The rest of the file is UTF-8: most often rows pasted in from another export.
        detail += ", unlike the rest of the file: save the file again as UTF-8 (CSV UTF-8)"
    return FileRefused(NOT_TEXT, detail, file_name=name, row=row)


def iter_csv(fileobj, *, name: str, summary: FileSummary) -> Iterator[RawRow]:
    """Yield the data rows of a delimited text file already checked by inspect_csv."""
    mapping: ColumnMapping = summary.mappings[0]
    width = len(mapping.headers)
    fields = tuple(mapping.fields.items())
    extras = tuple(mapping.extra.items())
    no_lead = RowsWithoutLeads(mapping)
    dob_header, leave_out = no_lead.dob_header, no_lead.leave_out
    number = 0
    try:
        with _open_text(fileobj, summary.encoding) as text:
            reader = _reader(text, summary.delimiter)
            for cells in reader:  # up to the header
                number += 1
                if number >= mapping.header_row and not _is_blank(cells):
                    break
            for cells in reader:  # _records() inlined: this is the hot loop
                number += 1
                if _is_blank(cells):  # the rule inspect_csv counted rows by
                    continue
                size = len(cells)
                # Supplier columns only where they hold something: empty ones under long
                # headers would fill every row.
                if size == width:
                    values = {f: cells[i].strip() for f, i in fields}
                    extra = {label: v for i, label in extras if (v := cells[i].strip())}
                    malformed = None
                else:
                    values = {f: cells[i].strip() for f, i in fields if i < size}
                    extra = {
                        label: v for i, label in extras if i < size and (v := cells[i].strip())
                    }
                    malformed = f"row {number}: expected {width} cells, found {size}"
                dob = values.get("dob")
                if (not dob or dob == dob_header) and leave_out(number, cells):
                    continue  # rarely looked at: a lead has a date of birth
                yield RawRow(name, "", number, values, extra, malformed)
    except _READ_ERRORS as exc:
        error = _refused(exc, number + 1, name)
        if isinstance(error, _Undecodable):
            error = _undecodable_refusal(fileobj, name, summary.encoding, summary.delimiter)
        raise error from None
