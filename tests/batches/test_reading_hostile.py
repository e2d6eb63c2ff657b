"""Hostile workbooks and cells: each was once accepted, or crashed or bloated the reader.

The files come from tests/hostile_files.py. Where a file would make calamine allocate
without bound, calamine is not allowed to open it, so a regression fails instead of
exhausting the machine's memory.
"""

import io

import pytest

from batches.reading import FileRefused, archive, sandbox, workbooks
from tests import hostile_files
from tests.batches import test_reading_xlsx

_read, _refusal = test_reading_xlsx._read, test_reading_xlsx._refusal
calamine_must_not_open = test_reading_xlsx.calamine_must_not_open  # the fixture

# --- workbooks ---------------------------------------------------------------------------------


def test_sheet_stored_under_any_member_name_is_measured_before_opening(calamine_must_not_open):
    data = hostile_files.sheet_stored_as_bin()
    assert len(data) < 2_000

    error = _refusal(data)

    assert error.code == "too_large"
    assert "xl/worksheets/sheet1.bin spans 1,048,576 rows by 16,384 columns" in error.detail


def test_workbook_with_too_many_parts_is_refused_before_listing_them(
    calamine_must_not_open, monkeypatch
):
    data = hostile_files.many_members(10_001)
    monkeypatch.setattr(archive.zipfile, "ZipFile", None)  # must not be reached

    error = _refusal(data)

    assert error.code == "too_large"
    assert "10,006 parts, over the limit of 10,000" in error.detail


@pytest.mark.parametrize(
    ("same_id", "external"),
    [(True, False), (False, False), (True, True)],
    ids=["one-id", "one-id-each", "external-mode"],
)
def test_workbook_listing_a_worksheet_twice_is_refused(calamine_must_not_open, same_id, external):
    error = _refusal(hostile_files.sheet_listed_again(3, same_id=same_id, external=external))

    assert error.code == "malformed_file"
    assert "its list of sheets names xl/worksheets/sheet1.xml 3 times" in error.detail


def test_shared_strings_count_at_every_cell_that_uses_them(calamine_must_not_open):
    data = hostile_files.shared_string_bomb(length=32_000, uses=400)
    assert len(data) < 10_000

    error = _refusal(data, max_bytes=1_000_000)

    assert error.code == "too_large"
    assert "shared strings, counted in every cell that uses them, to 12.2 MB more" in error.detail


@pytest.mark.parametrize(
    "body",
    [
        "<v>+1</v>",
        "<v>&#49;</v>",
        "<v>&#x2B;1</v>",
        "<v> 1 </v>",
        "<v>000000000001</v>",
        "<v>0</v><v>1</v>",  # calamine takes the last value
        "<v><![CDATA[1]]></v>",  # unreadable here: counted as the longest string
        "<v><!-- -->1</v>",
        "<v>" + "0" * 5000 + "1</v>",  # more digits than int() takes
    ],
)
def test_shared_strings_count_however_a_cell_writes_the_index(calamine_must_not_open, body):
    data = hostile_files.shared_string_bomb(length=32_000, uses=400, body=body, short=True)

    error = _refusal(data, max_bytes=1_000_000)

    assert error.code == "too_large"
    assert "shared strings, counted in every cell that uses them, to 12.2 MB more" in error.detail


@pytest.mark.parametrize("body", ["<v>+0</v>", "<v>&#48;</v>", "<v>00</v>"])
def test_a_short_shared_string_written_unusually_counts_as_itself(body):
    data = hostile_files.shared_string_bomb(length=32_000, uses=400, body=body, short=True)

    summary, _ = _read(data, max_bytes=1_000_000)  # not refused: 400 letters, not 12 MB

    # The lead row, and 20 rows of "y" where calamine reads the number too.
    assert summary.row_count in (1, 21)


def test_shared_strings_within_the_limit_are_read():
    rows = [
        hostile_files.text_row(1, hostile_files.HEADER),
        '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c>'
        '<c r="C2" t="s"><f>"x"</f><v>2</v></c></row>',
    ]
    data = hostile_files.xlsx(
        {"Leads": hostile_files.worksheet_xml(rows)}, shared_strings=["Ann", "Lee", "01/02/1990"]
    )

    _, read = _read(data, max_bytes=10_000)

    assert read[0].fields == {"first_name": "Ann", "last_name": "Lee", "dob": "01/02/1990"}


def test_opendocument_file_named_xlsx_is_refused_naming_what_it_is(calamine_must_not_open):
    error = _refusal(hostile_files.opendocument(rows=3, columns=1))

    assert error.code == "malformed_file"
    assert "this .xlsx is an OpenDocument spreadsheet (.ods)" in error.detail


def test_opendocument_file_named_ods_is_read():
    summary, rows = _read(hostile_files.opendocument(rows=3, columns=1), name="leads.ods")

    assert (summary.kind, summary.row_count) == ("ods", 3)
    assert rows[0].extra == {"note": "x"}


def test_opendocument_repeats_are_bounded_before_they_are_expanded(calamine_must_not_open):
    data = hostile_files.opendocument()  # one lead, 10,000 times, 2,003 cells wide
    assert len(data) < 1_000

    error = _refusal(data)

    assert error.code == "too_large"
    assert "expand to 10,001 rows by 2,003 columns" in error.detail


def test_opendocument_padding_rows_do_not_count():
    from batches.reading.opendocument import TableExtent

    extent = TableExtent()
    extent.scan(
        b'<table:table><table:table-row><table:table-cell office:value-type="string">'
        b"<text:p>a</text:p></table:table-cell><table:table-cell "
        b'table:number-columns-repeated="1023"/></table:table-row><table:table-row '
        b'table:number-rows-repeated="1048575"><table:table-cell '
        b'table:number-columns-repeated="1024"/></table:table-row></table:table>'
    )

    assert (extent.rows, extent.columns) == (1, 1)


def test_workbook_naming_a_sheet_that_cannot_be_found_is_read_in_a_child(monkeypatch):
    calls = []
    real = sandbox.run_in_child

    def spy(*args, **kwargs):
        calls.append(kwargs["memory_bytes"])
        return real(*args, **kwargs)

    monkeypatch.setattr(sandbox, "run_in_child", spy)
    data = hostile_files.xlsx(
        {"Leads": hostile_files.leads_sheet(hostile_files.LEAD)},
        targets={"Leads": "worksheets/elsewhere.xml"},
    )

    error = _refusal(data, max_bytes=1_000_000)

    assert calls == [10_000_000]
    assert error.code == "malformed_file"


def test_child_reads_a_workbook_as_the_parent_does():
    data = hostile_files.xlsx({"Leads": hostile_files.leads_sheet(hostile_files.LEAD)})
    options = {"name": "a.xlsx", "max_rows": 10, "aliases": None, "fuzzy_threshold": 85}

    in_child = sandbox.run_in_child(
        workbooks.summarise_workbook, io.BytesIO(data), memory_bytes=200_000_000, **options
    )

    assert in_child == workbooks.summarise_workbook(io.BytesIO(data), **options)


def test_child_that_runs_out_of_memory_is_a_refusal_not_a_crash():
    # Unvetted, calamine asks for 550 GB and aborts: only the child dies.
    stream = io.BytesIO(hostile_files.sheet_stored_as_bin())

    with pytest.raises(FileRefused) as refused:
        sandbox.run_in_child(
            workbooks.summarise_workbook,
            stream,
            name="a.xlsx",
            memory_bytes=200_000_000,
            max_rows=10,
            aliases=None,
            fuzzy_threshold=85,
        )

    assert refused.value.code == "malformed_file"
    assert "cannot be read within 191 MB of memory (the reader was stopped" in str(refused.value)
    assert stream.tell() == 0


# --- cells and names that do not fit -----------------------------------------------------------


def test_nul_characters_are_removed_from_cells():
    _, rows = _read(hostile_files.nul_in_cells())

    assert rows[0].fields == {"first_name": "Ann", "last_name": "Lee", "dob": "01/02/1990"}
    assert rows[0].extra == {"Notes": "a"}


def test_sheet_name_and_header_over_255_characters_are_cut_and_noted():
    summary, rows = _read(hostile_files.long_names(sheet_chars=300, header_chars=1_000))

    mapping = summary.mappings[0]
    assert mapping.worksheet == "S" * 255
    assert rows[0].worksheet == "S" * 255
    assert rows[0].extra == {"N" * 255: "note"}
    assert mapping.notes == (
        "the worksheet's name has 300 characters: cut to 255",
        "the header of column D has 1,000 characters: cut to 255",
    )


def test_empty_supplier_columns_are_not_carried():
    data = hostile_files.wide_empty_supplier_columns(rows=50)

    summary, rows = _read(data, name="wide.csv")

    assert len(summary.mappings[0].extra) == 60
    assert len(summary.mappings[0].notes) == 60
    assert all(row.extra == {} for row in rows)
    assert len(rows) == 50
