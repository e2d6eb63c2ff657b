"""Read workbooks (.xlsx, .xls, .ods) with python-calamine: every worksheet, each with its
own header."""

import dataclasses
import datetime
import io
from collections.abc import Iterator, Mapping, Sequence

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from batches.reading import sandbox
from batches.reading.archive import EXPANSION_LIMIT, check_workbook_archive
from batches.reading.blank_columns import BlankColumns
from batches.reading.errors import MALFORMED_FILE, NO_DATA_ROWS, TOO_MANY_ROWS, FileRefused
from batches.reading.header_search import locate_header
from batches.reading.headers import (
    MAX_NAME_CHARS,
    ColumnMapping,
    column_letter,
    fit_name,
    mapping_for_headers,
)
from batches.reading.legacy import check_legacy_workbook
from batches.reading.not_leads import RowsWithoutLeads
from batches.reading.records import FileSummary, RawRow

MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
_WHOLE_FLOAT_LIMIT = 1e16  # beyond this a float has no exact integer digits to show
_OPEN_ERRORS = (CalamineError, ValueError, TypeError, OSError, KeyError, IndexError)

# Excel keeps times as fractions of a day: 14:30 may come back as 14:29:59.999999. A time this
# close to a whole second is that second; any other fraction is dropped, never rounded up (a
# date of birth at 23:59:59.7 is not the next day's).
_FLOAT_NOISE = datetime.timedelta(milliseconds=1)


def _calamine_failure(exc: BaseException) -> bool:
    # A panic in calamine's Rust (a damaged record) reaches Python as a BaseException.
    return isinstance(exc, _OPEN_ERRORS) or type(exc).__name__ == "PanicException"


def _open(fileobj, name: str, kind: str) -> CalamineWorkbook:
    fileobj.seek(0)
    try:
        return CalamineWorkbook.from_filelike(fileobj)
    except BaseException as exc:
        if not _calamine_failure(exc):
            raise
        raise FileRefused(
            MALFORMED_FILE, f"a damaged .{kind} workbook ({exc})", file_name=name
        ) from None


def _worksheets(workbook: CalamineWorkbook) -> Iterator[tuple[int, str, str, bool]]:
    """(index, title as stored, a note when the title had to be cut, whether the workbook
    hides it) of each worksheet.

    A title is cut to MAX_NAME_CHARS (the column that records it holds no more); titles
    that are the same once cut get " (2)", " (3)" so that each sheet keeps its own.
    """
    seen: set[str] = set()
    for index, meta in enumerate(workbook.sheets_metadata):
        if meta.typ != SheetTypeEnum.WorkSheet:
            continue
        title = fit_name(meta.name.replace("\x00", ""))
        note = ""
        if len(meta.name) > MAX_NAME_CHARS:
            note = (
                f"the worksheet's name has {len(meta.name):,} characters: cut to {MAX_NAME_CHARS}"
            )
        unique, copy = title, 1
        while unique in seen:
            copy += 1
            unique = fit_name(title, suffix=f" ({copy})")
        seen.add(unique)
        yield index, unique, note, meta.visible != SheetVisibleEnum.Visible


def _cell_text(value, *, row: int, column: int, sheet: str, name: str):
    """A cell as str or datetime.date; whole numbers lose their ".0"."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_CELL_CHARS:
            raise FileRefused(
                MALFORMED_FILE,
                f"worksheet {sheet!r}: a cell holds {len(value):,} characters, "
                f"over the {MAX_CELL_CHARS:,} Excel allows",
                file_name=name,
                row=row,
                column=column_letter(column),
            )
        if "\x00" in value:  # _x0000_ in the XML; no database column can hold it
            value = value.replace("\x00", "")
        return value.strip()
    if kind is float:
        if value.is_integer() and abs(value) < _WHOLE_FLOAT_LIMIT:
            return str(int(value))
        return repr(value)
    if kind is datetime.datetime:
        if value.time() == datetime.time(0, 0) and value.tzinfo is None:
            return value.date()
        if value.tzinfo is None:
            # A wall-clock time, as the sheet shows it: written the way a CSV of the sheet
            # would be, so a consent time is read in TIME_ZONE either way (ISO text would be
            # UTC). To the second.
            second = (value + _FLOAT_NOISE).replace(microsecond=0)
            return second.strftime("%d/%m/%Y %H:%M:%S")
        return value.isoformat(sep=" ")
    if kind is datetime.date:
        return value
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if kind is datetime.time:
        return value.isoformat()
    return str(value)


def _sheet_rows(workbook, index: int, sheet: str, name: str) -> Iterator[tuple[int, list]]:
    """(row number, cells) for each non-empty row; cells are indexed from column A."""
    try:
        data = workbook.get_sheet_by_index(index)
    except BaseException as exc:
        if not _calamine_failure(exc):
            raise
        raise FileRefused(
            MALFORMED_FILE, f"worksheet {sheet!r} cannot be read ({exc})", file_name=name
        ) from None
    if data.start is None:
        return
    offset = data.start[1]
    padding = [""] * offset
    # calamine's iter_rows starts at row 1 (leading empty rows included) but at the
    # first used column, hence the padding.
    for number, raw in enumerate(data.iter_rows(), start=1):
        cells = [
            _cell_text(value, row=number, column=offset + i, sheet=sheet, name=name)
            for i, value in enumerate(raw)
        ]
        if any(cells):
            yield number, padding + cells if offset else cells


def inspect_workbook(
    fileobj,
    *,
    name: str,
    max_rows: int,
    max_bytes: int,
    aliases: Mapping[str, Sequence[str]] | None,
    fuzzy_threshold: int,
    settle_ambiguous: bool = False,
) -> FileSummary:
    """Vet the zip, then read each worksheet once: map its header, count its rows.

    Empty worksheets are skipped, and so are worksheets whose first row names no lead field
    at all (instructions, notes, a summary) unless a row under it is a header (a title above
    it: `locate_header`); one that names some fields but not all the required ones is
    refused, since it is most likely leads with a mistyped header.
    A workbook whose every worksheet could not be measured is read in a child process
    with a memory limit instead.
    """
    check = check_workbook_archive(fileobj, name=name, max_bytes=max_bytes)
    options = {
        "max_rows": max_rows,
        "aliases": aliases,
        "fuzzy_threshold": fuzzy_threshold,
        "settle_ambiguous": settle_ambiguous,
        "kind": check.kind,
    }
    if not check.bounded:
        return sandbox.run_in_child(
            summarise_workbook,
            fileobj,
            name=name,
            memory_bytes=EXPANSION_LIMIT * max_bytes,
            **options,
        )
    return summarise_workbook(fileobj, name=name, **options)


def inspect_legacy_workbook(
    fileobj,
    *,
    name: str,
    max_rows: int,
    max_bytes: int,
    aliases: Mapping[str, Sequence[str]] | None,
    fuzzy_threshold: int,
    settle_ambiguous: bool = False,
) -> FileSummary:
    """Vet a legacy .xls (its compound file and BIFF records), then read it like an .xlsx."""
    fileobj.seek(0)
    data = fileobj.read()
    check_legacy_workbook(data, name=name, max_bytes=max_bytes)
    return summarise_workbook(
        io.BytesIO(data),
        name=name,
        max_rows=max_rows,
        aliases=aliases,
        fuzzy_threshold=fuzzy_threshold,
        settle_ambiguous=settle_ambiguous,
        kind="xls",
    )


def summarise_workbook(
    fileobj,
    *,
    name: str,
    max_rows: int,
    aliases: Mapping[str, Sequence[str]] | None,
    fuzzy_threshold: int,
    settle_ambiguous: bool = False,
    kind: str = "xlsx",
) -> FileSummary:
    """Read each worksheet of a vetted workbook once: map its header, count its rows."""
    workbook = _open(fileobj, name, kind)
    mappings: list[ColumnMapping] = []
    skipped: list[tuple[str, list[str]]] = []
    count = 0
    options = {
        "aliases": aliases,
        "fuzzy_threshold": fuzzy_threshold,
        "file_name": name,
        "settle_ambiguous": settle_ambiguous,
    }
    try:
        for index, sheet, note, hidden in _worksheets(workbook):
            rows = _sheet_rows(workbook, index, sheet, name)
            header = next(rows, None)
            if header is None:
                continue  # an empty worksheet
            mapping = locate_header(
                header,
                rows,
                lambda cells, sheet=sheet: mapping_for_headers(
                    _header_texts(cells), worksheet=sheet, skip_unrelated=True, **options
                ),
            )
            if mapping is None:
                skipped.append((sheet, _header_texts(header[1])))
                continue
            if note:
                mapping = dataclasses.replace(mapping, notes=(note, *mapping.notes))
            if hidden:  # read like the others, but the operator may not know it is there
                mapping = dataclasses.replace(mapping, hidden=True)
            before = count
            no_lead = RowsWithoutLeads(mapping)
            blank = BlankColumns(mapping)
            for number, cells in rows:
                if no_lead.skip(number, cells):
                    continue
                if blank.unseen:
                    blank.see(cells)
                count += 1
                if count > max_rows:
                    raise FileRefused(
                        TOO_MANY_ROWS,
                        f"worksheet {sheet!r}: more than {max_rows:,} data rows in the workbook",
                        file_name=name,
                        row=number,
                    )
            mappings.append(
                dataclasses.replace(
                    blank.mapping_without(mapping),
                    row_count=count - before,
                    notes=(*mapping.notes, *no_lead.notes()),
                )
            )
    finally:
        workbook.close()
    if not mappings and skipped:
        sheet, headers = skipped[0]  # refused with the usual list of headers and near misses
        mapping_for_headers(headers, worksheet=sheet, **options)
    if not mappings:
        raise FileRefused(NO_DATA_ROWS, "every worksheet is empty", file_name=name)
    if not count:
        raise FileRefused(
            NO_DATA_ROWS, "the worksheets have headers but no data rows", file_name=name
        )
    return FileSummary(
        name=name,
        kind=kind,
        encoding="",
        delimiter="",
        mappings=tuple(mappings),
        row_count=count,
        skipped_sheets=tuple(sheet for sheet, _ in skipped),
    )


def iter_workbook(fileobj, *, name: str, summary: FileSummary) -> Iterator[RawRow]:
    """Yield the data rows of every mapped worksheet, in workbook order."""
    by_sheet = {mapping.worksheet: mapping for mapping in summary.mappings}
    workbook = _open(fileobj, name, summary.kind)
    try:
        for index, sheet, _, _ in _worksheets(workbook):
            mapping = by_sheet.get(sheet)
            if mapping is None:
                continue
            fields = tuple(mapping.fields.items())
            extras = tuple(mapping.extra.items())
            no_lead = RowsWithoutLeads(mapping)
            rows = _sheet_rows(workbook, index, sheet, name)
            for number, _ in rows:  # up to the header
                if number >= mapping.header_row:
                    break
            for number, cells in rows:
                size = len(cells)
                values = {f: cells[i] for f, i in fields if i < size}
                # Only what holds something: empty supplier columns would fill every row.
                extra = {label: _text(cells[i]) for i, label in extras if i < size and cells[i]}
                if no_lead.without_dob(values.get("dob")) and no_lead.leave_out(number, cells):
                    continue
                yield RawRow(name, sheet, number, values, extra)
    finally:
        workbook.close()


def _header_texts(cells: list) -> list[str]:
    return [cell if isinstance(cell, str) else cell.isoformat() for cell in cells]


def _text(value) -> str:
    return value if isinstance(value, str) else value.isoformat()
