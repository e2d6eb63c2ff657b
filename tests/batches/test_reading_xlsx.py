"""Workbook reading: every worksheet, cell types, and the zip checks made before opening."""

import datetime
import io
import struct
import zipfile

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference

from batches.reading import FileRefused, inspect_file, iter_rows, workbooks
from batches.reading import archive as archive_module


def _book(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _read(data: bytes, *, name="leads.xlsx", max_rows=1000, max_bytes=10_000_000):
    stream = io.BytesIO(data)
    summary = inspect_file(stream, name=name, max_rows=max_rows, max_bytes=max_bytes)
    return summary, list(iter_rows(stream, name=name, summary=summary))


def _refusal(data: bytes, **kwargs) -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        _read(data, **kwargs)
    return refused.value


@pytest.fixture
def calamine_must_not_open(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the workbook was opened before the zip was vetted")

    monkeypatch.setattr(workbooks.CalamineWorkbook, "from_filelike", refuse)


THREE_SHEETS = {
    "UK leads": [
        ["First Name", "Surname", "Date of Birth", "Mobile", "Notes"],
        ["Ann", "Lee", datetime.date(1990, 1, 2), 7911123457.0, "met at fair"],
        [None, None, None, None, None],
        ["Bob", "Ray", datetime.datetime(1985, 3, 4), 7911000001, None],
    ],
    "Empty": [],
    "EU leads": [
        ["first_name", "last_name", "dob", "phone"],
        [" Cleo ", "Dupont", "04/05/1970", "+33 6 12 34 56 78"],
    ],
}


def test_every_non_empty_worksheet_is_read_in_order_with_its_own_header():
    summary, rows = _read(_book(THREE_SHEETS))

    assert (summary.kind, summary.encoding, summary.delimiter) == ("xlsx", "", "")
    assert [m.worksheet for m in summary.mappings] == ["UK leads", "EU leads"]
    assert summary.mappings[0].fields == {"first_name": 0, "last_name": 1, "dob": 2, "phone": 3}
    assert summary.row_count == 3
    assert [(row.worksheet, row.row_number) for row in rows] == [
        ("UK leads", 2),
        ("UK leads", 4),
        ("EU leads", 2),
    ]


def test_each_worksheet_counts_its_own_rows():
    summary, _ = _read(_book(THREE_SHEETS))

    assert [(m.worksheet, m.row_count) for m in summary.mappings] == [
        ("UK leads", 2),
        ("EU leads", 1),
    ]


def test_worksheet_whose_header_names_no_field_is_skipped_and_listed():
    data = _book(
        {
            "Read me": [["Please fill in one lead per row"], ["Dates as dd/mm/yyyy"]],
            "Leads": THREE_SHEETS["EU leads"],
            "Totals": [["Region", "Count"], ["UK", 3]],
        }
    )

    summary, rows = _read(data)

    assert [m.worksheet for m in summary.mappings] == ["Leads"]
    assert summary.skipped_sheets == ("Read me", "Totals")
    assert [(row.worksheet, row.row_number) for row in rows] == [("Leads", 2)]


def test_workbook_with_no_recognisable_worksheet_is_refused_with_its_headers():
    error = _refusal(_book({"Totals": [["Region", "Count"], ["UK", 3]]}))

    assert error.code == "missing_columns"
    assert "worksheet 'Totals'" in error.detail and "'Region', 'Count'" in error.detail


def test_cells_become_dates_integer_strings_and_stripped_text():
    _, rows = _read(_book(THREE_SHEETS))

    assert rows[0].fields == {
        "first_name": "Ann",
        "last_name": "Lee",
        "dob": datetime.date(1990, 1, 2),
        "phone": "7911123457",
    }
    assert rows[0].extra == {"Notes": "met at fair"}
    assert rows[1].fields["dob"] == datetime.date(1985, 3, 4)  # a midnight datetime
    assert type(rows[1].fields["dob"]) is datetime.date
    assert rows[1].fields["phone"] == "7911000001"
    assert rows[1].extra == {}  # an empty supplier cell is not carried
    assert rows[2].fields["first_name"] == "Cleo"
    assert rows[2].fields["dob"] == "04/05/1970"  # a text date stays text
    assert rows[2].source_file == "leads.xlsx"


def test_other_cell_types_become_text():
    data = _book(
        {
            "S": [
                ["first_name", "last_name", "dob", "score", "paid", "at"],
                ["Ann", "Lee", datetime.datetime(1990, 1, 2, 13, 45), 2.5, True, 1e20],
            ]
        }
    )

    _, rows = _read(data)

    assert rows[0].fields["dob"] == "02/01/1990 13:45:00"  # as the sheet shows it
    assert rows[0].extra == {"score": "2.5", "paid": "TRUE", "at": "1e+20"}


def test_a_date_time_cell_is_read_to_the_second_without_moving_to_the_next_day():
    late = datetime.datetime(1970, 6, 5, 23, 59, 59, 700_000)
    data = _book({"S": [["first_name", "last_name", "dob"], ["Liam", "Murphy", late]]})

    _, rows = _read(data)

    assert rows[0].fields["dob"] == "05/06/1970 23:59:59"


def test_sheet_with_only_a_header_contributes_no_rows():
    data = _book({"A": [["first_name", "last_name", "dob"]], "B": THREE_SHEETS["EU leads"]})

    summary, rows = _read(data)

    assert [m.worksheet for m in summary.mappings] == ["A", "B"]
    assert [(row.worksheet, row.row_number) for row in rows] == [("B", 2)]


def test_data_starting_away_from_a1_keeps_spreadsheet_rows_and_columns():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"], sheet["E3"] = "Forename", "Surname", "DOB"
    sheet["C5"], sheet["D5"], sheet["E5"], sheet["G5"] = "Ann", "Lee", "1990", "stray"
    out = io.BytesIO()
    book.save(out)

    summary, rows = _read(out.getvalue())

    assert summary.mappings[0].fields == {"first_name": 2, "last_name": 3, "dob": 4}
    assert rows[0].row_number == 5
    assert rows[0].extra == {"column_G": "stray"}


def test_workbook_is_recognised_by_content_not_name():
    summary, _ = _read(_book(THREE_SHEETS), name="leads.csv")

    assert summary.kind == "xlsx"


def test_missing_column_in_one_worksheet_is_refused_naming_it():
    data = _book({"Good": THREE_SHEETS["EU leads"], "Bad": [["first_name", "dob"], ["Ann", 1]]})

    error = _refusal(data)

    assert error.code == "missing_columns"
    assert "worksheet 'Bad'" in error.detail


def test_rows_over_the_limit_across_worksheets_are_refused():
    error = _refusal(_book(THREE_SHEETS), max_rows=2)

    assert error.code == "too_many_rows"
    assert error.row == 2
    assert "'EU leads'" in error.detail


def test_workbook_with_only_empty_worksheets_is_refused():
    assert _refusal(_book({"A": [], "B": []})).code == "no_data_rows"


def test_workbook_with_only_headers_is_refused():
    assert _refusal(_book({"A": [["first_name", "last_name", "dob"]]})).code == "no_data_rows"


def _rewrite(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace bytes inside every member of a zip (openpyxl will not write a long cell)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            target.writestr(member, source.read(member).replace(old, new))
    return out.getvalue()


def test_cell_over_32767_characters_is_refused_with_row_and_column():
    data = _book({"S": [["first_name", "last_name", "dob"], ["Ann", "LONGCELL", "1990"]]})

    error = _refusal(_rewrite(data, b"LONGCELL", b"x" * 40_000))

    assert error.code == "malformed_file"
    assert (error.row, error.column) == (2, "B")


def test_truncated_workbook_is_refused_as_malformed():
    data = _book(THREE_SHEETS)

    assert _refusal(data[: len(data) // 2]).code == "malformed_file"


def test_workbook_with_damaged_compressed_data_is_refused_as_malformed(calamine_must_not_open):
    data = bytearray(_book(THREE_SHEETS))
    member = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    for offset in range(start + 10, start + 40):
        data[offset] ^= 0xFF

    assert _refusal(bytes(data)).code == "malformed_file"


def test_zip_that_is_not_a_workbook_is_refused_as_not_text(calamine_must_not_open):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")

    assert _refusal(out.getvalue()).code == "not_text"


def test_zip_member_with_an_empty_name_does_not_break_the_checks():
    stream = io.BytesIO(_book(THREE_SHEETS))
    with zipfile.ZipFile(stream, "a") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"junk")

    summary, _ = _read(stream.getvalue())

    assert summary.row_count == 3


def test_zip_unpacking_to_over_ten_times_the_limit_is_refused(calamine_must_not_open):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 11_000_000)
    data = out.getvalue()
    assert len(data) < 100_000

    error = _refusal(data, max_bytes=1_000_000)

    assert error.code == "too_large"


def test_zip_declaring_a_huge_uncompressed_size_is_refused_before_reading(
    calamine_must_not_open, monkeypatch
):
    data = bytearray(_book(THREE_SHEETS))
    directory = data.index(b"PK\x01\x02")  # first central directory entry
    struct.pack_into("<I", data, directory + 24, 0xFFFF0000)  # its uncompressed size
    monkeypatch.setattr(archive_module, "_check_member", None)  # must not be reached

    error = _refusal(bytes(data))

    assert error.code == "too_large"
    assert "unpacks to" in error.detail


def test_sparse_cells_spanning_the_whole_sheet_are_refused_before_opening(
    calamine_must_not_open,
):
    # calamine would allocate a dense 1,048,576 x 16,384 grid (550 GB) and abort.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["first_name", "last_name", "dob"])
    sheet.append(["Ann", "Lee", "1990"])
    sheet["XFD1048576"] = "x"
    out = io.BytesIO()
    book.save(out)
    assert len(out.getvalue()) < 10_000

    error = _refusal(out.getvalue())

    assert error.code == "too_large"
    assert "1,048,576 rows by 16,384 columns" in error.detail


def test_styled_empty_cells_far_away_do_not_count_towards_the_extent():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["first_name", "last_name", "dob"])
    sheet.append(["Ann", "Lee", "1990"])
    sheet["XFD1048576"].number_format = "0.00"  # written as <c r=".." s=".."/>
    out = io.BytesIO()
    book.save(out)

    summary, rows = _read(out.getvalue())

    assert summary.row_count == 1
    assert rows[0].row_number == 2


def test_inspect_rewinds_a_workbook():
    stream = io.BytesIO(_book(THREE_SHEETS))

    inspect_file(stream, name="a.xlsx", max_rows=10, max_bytes=10**7)

    assert stream.tell() == 0


def test_chart_sheets_are_skipped():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["first_name", "last_name", "dob", "score"])
    sheet.append(["Ann", "Lee", "1990", 3])
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=4, min_row=1, max_row=2))
    book.create_chartsheet("Chart").add_chart(chart)
    out = io.BytesIO()
    book.save(out)

    summary, rows = _read(out.getvalue())

    assert [m.worksheet for m in summary.mappings] == ["Sheet"]
    assert len(rows) == 1


def test_abandoned_row_iterator_releases_the_workbook():
    stream = io.BytesIO(_book(THREE_SHEETS))
    summary = inspect_file(stream, name="a.xlsx", max_rows=10, max_bytes=10**7)

    rows = iter_rows(stream, name="a.xlsx", summary=summary)
    assert next(rows).row_number == 2
    rows.close()

    assert [row.worksheet for row in iter_rows(stream, name="a.xlsx", summary=summary)] == [
        "UK leads",
        "UK leads",
        "EU leads",
    ]


_PACKAGE = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>'
    ),
}
_HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>first_name</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>last_name</t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>dob</t></is></c></row>'
)


def _handmade(sheet_data: str, prefix: str = "") -> bytes:
    """A minimal workbook whose worksheet XML is written by hand."""
    name = f"{prefix}:" if prefix else ""
    sheet = (
        f"<{name}worksheet xmlns{':' + prefix if prefix else ''}="
        f'"http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<{name}sheetData>{sheet_data}</{name}sheetData></{name}worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in _PACKAGE.items():
            archive.writestr(path, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def test_cells_without_positions_are_placed_one_after_another():
    data = _handmade(
        _HEADER_ROW + '<row><c t="inlineStr"><is><t>Ann</t></is></c><c/>'
        '<c t="inlineStr"><is><t>1990</t></is></c><c><v>7</v></c></row>'
    )

    _, rows = _read(data)

    assert rows[0].row_number == 2
    assert rows[0].fields == {"first_name": "Ann", "last_name": "", "dob": "1990"}
    assert rows[0].extra == {"column_D": "7"}


@pytest.mark.parametrize(
    "far_cell",
    [
        '<row r="2"><c s="0" r="XFD1048576"><v>1</v></c></row>',
        "<row r='2'><c r='XFD1048576'><v>1</v></c></row>",
        '<row r="2"><c r="XFD2"><v>1</v></c></row><row r="1048576"><c><v>1</v></c></row>',
        '<row r="2"><c r="XFD2"><v>1</v></c><c r="A3"/></row><row r="1048576"><c r="A1048576"'
        "><v>1</v></c></row>",
    ],
    ids=["r-not-first", "single-quotes", "implicit-position", "alongside-an-empty-cell"],
)
def test_far_cells_written_any_way_are_refused_before_opening(far_cell, calamine_must_not_open):
    assert _refusal(_handmade(_HEADER_ROW + far_cell)).code == "too_large"


def test_far_cells_with_namespace_prefixes_are_refused_before_opening(calamine_must_not_open):
    data = _handmade('<x:row r="1"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>', prefix="x")

    assert _refusal(data).code == "too_large"


def test_cell_reference_past_the_last_column_is_refused_before_opening(calamine_must_not_open):
    data = _handmade(_HEADER_ROW + '<row r="2"><c r="ZZZZZZ2"><v>1</v></c></row>')

    assert _refusal(data).code == "malformed_file"


class _ReadSeekOnly:
    """The least a storage file offers: read and seek; no name, tell or seekable."""

    def __init__(self, data: bytes):
        self._stream = io.BytesIO(data)

    def read(self, size=-1):
        return self._stream.read(size)

    def seek(self, offset, whence=0):
        return self._stream.seek(offset, whence)


def test_workbook_is_read_from_any_seekable_binary_object():
    stream = _ReadSeekOnly(_book(THREE_SHEETS))

    summary = inspect_file(stream, name="a.xlsx", max_rows=10, max_bytes=10**7)
    rows = list(iter_rows(stream, name="a.xlsx", summary=summary))

    assert len(rows) == summary.row_count == 3


def test_ten_thousand_row_workbook_is_streamed_in_a_few_megabytes():
    import tracemalloc

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Leads")
    sheet.append(["First Name", "Surname", "Date of Birth", "Email", "Mobile", "Notes"])
    for i in range(10_000):
        sheet.append(
            [
                f"Ann{i}",
                "Lee",
                datetime.date(1990, 1, 1 + i % 28),
                f"a{i}@example.com",
                7911000000 + i,
                "x" * 40,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    stream = io.BytesIO(out.getvalue())

    tracemalloc.start()
    try:
        summary = inspect_file(stream, name="big.xlsx", max_rows=10_000, max_bytes=50_000_000)
        count = sum(1 for _ in iter_rows(stream, name="big.xlsx", summary=summary))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert count == summary.row_count == 10_000
    # Python's share only: calamine keeps the worksheet's cells in its own (Rust) memory.
    assert peak < 4_000_000, f"{peak:,} bytes"


def test_a_worksheet_with_a_title_above_its_header_is_read_from_the_header():
    data = _book(
        {
            "Leads": THREE_SHEETS["EU leads"],
            "February": [
                ["Leads received February 2026"],
                [],
                ["First Name", "Surname", "DOB"],
                ["Ann", "Lee", "01/02/1990"],
                ["Bob", "Ray", "02/03/1991"],
            ],
            "Read me": [["Please fill in one lead per row"], ["Dates as dd/mm/yyyy"]],
        }
    )

    summary, rows = _read(data)

    assert [m.worksheet for m in summary.mappings] == ["Leads", "February"]
    february = summary.mappings[1]
    assert (february.header_row, february.row_count) == (3, 2)
    assert "the header is on row 3" in february.notes[0]
    assert "Leads received February 2026" in february.notes[0]
    assert summary.skipped_sheets == ("Read me",)
    assert [(r.worksheet, r.row_number, r.fields["first_name"]) for r in rows[1:]] == [
        ("February", 4, "Ann"),
        ("February", 5, "Bob"),
    ]


def test_a_totals_row_and_a_repeated_header_in_a_worksheet_are_not_read():
    header = ["First Name", "Last Name", "Date of Birth", "Cost"]
    data = _book(
        {
            "Leads": [
                header,
                ["Ann", "Lee", datetime.date(1990, 2, 1), 5],
                header,
                ["Bob", "Roe", datetime.date(1985, 3, 2), 5],
                ["TOTAL", None, None, 10],
            ]
        }
    )

    summary, rows = _read(data)

    assert [(row.row_number, row.fields["first_name"]) for row in rows] == [(2, "Ann"), (4, "Bob")]
    (mapping,) = summary.mappings
    assert summary.row_count == 2
    assert mapping.notes == (
        "not read, holding no lead: row 3 (the header row again), row 5 (a total or footer line)",
    )


def test_columns_with_neither_header_nor_value_are_not_supplier_columns():
    data = _book(
        {
            "Leads": [
                ["First Name", "Last Name", "DOB", None, "Notes", None],
                ["Ann", "Lee", "01/02/1990", None, "x", None],
                ["Bo", "Li", "01/02/1990", None, None, "late"],
            ]
        }
    )

    summary, rows = _read(data)

    assert summary.mappings[0].extra == {4: "Notes", 5: "column_F"}
    assert [row.extra for row in rows] == [{"Notes": "x"}, {"column_F": "late"}]
