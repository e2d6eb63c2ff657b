"""Legacy .xls and OpenDocument .ods workbooks, read like .xlsx, and files in disguise.

Hostile files come from tests/workbook_files.py; where one would make calamine allocate
without bound, calamine is not allowed to open it.
"""

import io

import pytest

from batches.reading import biff, sandbox
from batches.reading.compound import CompoundFile
from tests import hostile_files, workbook_files
from tests.batches import test_reading_xlsx

_read, _refusal = test_reading_xlsx._read, test_reading_xlsx._refusal
calamine_must_not_open = test_reading_xlsx.calamine_must_not_open  # the fixture

# --- .xls ---------------------------------------------------------------------------------------


def test_xls_reads_every_sheet_with_its_own_header_and_cell_types():
    data = workbook_files.xls(
        {
            "Notes": [["read me first"]],
            "UK leads": [
                [None, None],
                ["First Name", "Surname", "Date of Birth", "Mobile", "Source"],
                ["Ann", "Lee", "01/02/1990", 7911123457.0, "fair"],
                ["Bob", "Ray", "03/04/1985", 7911000001, None],
            ],
        }
    )

    summary, rows = _read(data, name="leads.xls")

    assert summary.kind == "xls"
    assert summary.skipped_sheets == ("Notes",)
    assert [(r.worksheet, r.row_number) for r in rows] == [("UK leads", 3), ("UK leads", 4)]
    assert rows[0].fields == {
        "first_name": "Ann",
        "last_name": "Lee",
        "dob": "01/02/1990",
        "phone": "7911123457",
    }
    assert rows[0].extra == {"Source": "fair"}


def test_xls_missing_columns_name_the_sheet():
    data = workbook_files.xls({"Leads": [["first_name", "email"], ["Ann", "a@example.com"]]})

    error = _refusal(data, name="leads.xls")

    assert error.code == "missing_columns"
    assert "'Leads'" in str(error)


def test_xls_row_limit_names_the_sheet_and_row():
    error = _refusal(workbook_files.leads_xls(5), name="leads.xls", max_rows=3)

    assert (error.code, error.row) == ("too_many_rows", 5)
    assert "worksheet 'Leads'" in error.detail


def test_xls_declaring_huge_dimensions_is_refused_before_opening(calamine_must_not_open):
    data = workbook_files.huge_dimensions_xls()
    assert len(data) < 10_000

    error = _refusal(data, name="leads.xls")

    assert error.code == "too_large"
    assert "worksheet 1 spans 1,048,576 rows by 256 columns" in error.detail


def test_xls_cell_past_its_declared_dimensions_is_measured(calamine_must_not_open):
    error = _refusal(workbook_files.far_cell_xls(), name="leads.xls")

    assert error.code == "too_large"
    assert "worksheet 1 spans 65,536 rows by 256 columns" in error.detail


def test_xls_sheet_whose_bof_claims_a_chart_is_measured_all_the_same(calamine_must_not_open):
    error = _refusal(workbook_files.chart_typed_sheet_xls(), name="leads.xls")

    assert error.code == "too_large"
    assert "worksheet 1 spans 16,777,215 rows by 255 columns" in error.detail


def test_xls_cells_after_an_embedded_chart_are_measured(calamine_must_not_open):
    error = _refusal(workbook_files.cells_after_embedded_chart_xls(), name="leads.xls")

    assert error.code == "too_large"
    assert "worksheet 1 spans 65,536 rows by 256 columns" in error.detail


def test_password_protected_xls_is_refused_saying_so(calamine_must_not_open):
    error = _refusal(workbook_files.password_protected_xls(), name="leads.xls")

    assert error.code == "malformed_file"
    assert "password-protected workbook" in error.detail


def test_xls_shared_strings_count_at_every_use(calamine_must_not_open):
    data = workbook_files.sst_bomb_xls(length=32_000, uses=400)

    error = _refusal(data, name="leads.xls", max_bytes=1_000_000)

    assert error.code == "too_large"
    assert "come to 12,805,222 characters" in error.detail


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (workbook_files.sector_loop_xls, "loops back"),
        (workbook_files.sector_out_of_range_xls, "leaves the file"),
        (lambda: workbook_files.leads_xls(200)[:3000], "truncated"),
        (workbook_files.renamed_stream_xls, "no workbook inside"),
        (workbook_files.inverted_dimensions_xls, "dimensions at byte"),
        (workbook_files.sheet_at_globals_xls, "start where the workbook's globals do"),
    ],
    ids=[
        "sector-loop",
        "sector-out-of-range",
        "truncated",
        "no-workbook-stream",
        "inverted",
        "sheet-at-globals",
    ],
)
def test_damaged_xls_is_refused_as_malformed_before_opening(calamine_must_not_open, build, words):
    error = _refusal(build(), name="leads.xls")

    assert error.code == "malformed_file"
    assert words in error.detail


def test_xls_cells_lose_nul_characters():
    data = workbook_files.xls({"Leads": [list(hostile_files.HEADER), ["A\x00nn", "Lee", "x"]]})

    _, rows = _read(data, name="leads.xls")

    assert rows[0].fields["first_name"] == "Ann"


def test_xls_long_header_is_cut_to_255_characters():
    header = [*hostile_files.HEADER, "N" * 300]
    data = workbook_files.xls({"Leads": [header, [*hostile_files.LEAD, "note"]]})

    summary, rows = _read(data, name="leads.xls")

    assert rows[0].extra == {"N" * 255: "note"}
    assert summary.mappings[0].notes == ("the header of column D has 300 characters: cut to 255",)


def test_sst_split_over_continue_records_is_measured():
    # Two strings of 10 and 5 characters; the first breaks after 4 into a CONTINUE whose
    # first byte says the rest is two bytes a character.
    first = b"\x0a\x00\x00abcd"
    rest = b"\x01" + "efghij".encode("utf-16-le") + b"\x05\x00\x00vwxyz"

    lengths = biff._string_lengths([first, rest], 2)

    assert list(lengths) == [10, 5]


def test_compound_file_gives_back_the_workbook_stream():
    container = CompoundFile(workbook_files.leads_xls(300))

    stream = container.stream("Workbook")

    assert stream[:2] == b"\x09\x08"  # a BOF record
    assert biff.measure(stream, max_strings=1000).sheets[0].rows == 301


def test_small_streams_are_read_from_the_mini_stream():
    from batches.reading.compound import CompoundFile as Compound

    book = Compound(workbook_files.leads_xls(3)).stream("Workbook")
    data = workbook_files.compound(book, b"summary" * 30)

    assert Compound(data).stream("\x05SummaryInformation") == b"summary" * 30
    summary, rows = _read(data, name="leads.xls")
    assert (summary.row_count, rows[2].fields["first_name"]) == (3, "Ann2")


# --- .ods ---------------------------------------------------------------------------------------


def test_ods_is_read_like_a_workbook():
    data = workbook_files.ods(
        {
            "Notes": [["read me"]],
            "Leads": [[*hostile_files.HEADER, "Source"], [*hostile_files.LEAD, "fair"]],
        }
    )

    summary, rows = _read(data, name="leads.ods")

    assert (summary.kind, summary.row_count, summary.skipped_sheets) == ("ods", 1, ("Notes",))
    assert rows[0].fields == {"first_name": "Ann", "last_name": "Lee", "dob": "01/02/1990"}
    assert (rows[0].worksheet, rows[0].row_number, rows[0].extra) == (
        "Leads",
        2,
        {"Source": "fair"},
    )


def test_ods_repeated_rows_bomb_is_refused_before_expanding(calamine_must_not_open):
    data = hostile_files.opendocument(disguise=False)

    error = _refusal(data, name="leads.ods")

    assert error.code == "too_large"
    assert "expand to 10,001 rows by 2,003 columns" in error.detail


def test_ods_is_read_in_the_memory_limited_child(monkeypatch):
    calls = []
    real = sandbox.run_in_child
    monkeypatch.setattr(sandbox, "run_in_child", lambda *a, **k: calls.append(1) or real(*a, **k))

    summary, _ = _read(workbook_files.leads_ods(3), name="leads.ods")

    assert (calls, summary.row_count) == ([1], 3)


def test_ods_long_text_repeated_kills_only_the_child():
    # 61 rows x 1,003 columns pass the cell limit, but each cell holds 30,000 characters:
    # calamine would expand them to 1.8 GB. The child dies at its limit; this process lives.
    data = workbook_files.repeated_text_ods(rows=60, columns=1000, length=30_000)
    assert len(data) < 10_000

    error = _refusal(data, name="leads.ods", max_bytes=1_000_000)

    assert error.code == "malformed_file"
    assert "cannot be read within 10 MB of memory" in error.detail


def test_ods_long_sheet_name_header_and_nul_are_made_safe():
    data = workbook_files.ods(
        {"S" * 300: [[*hostile_files.HEADER, "N" * 300], ["A\x00nn", "Lee", "x", "note"]]}
    )

    summary, rows = _read(data.replace(b"A\x00nn", b"Ann"), name="leads.ods")

    assert rows[0].worksheet == "S" * 255
    assert rows[0].extra == {"N" * 255: "note"}
    assert summary.mappings[0].notes[0] == "the worksheet's name has 300 characters: cut to 255"


def test_ods_that_is_a_zip_of_something_else_is_malformed():
    error = _refusal(workbook_files.zip_of_other_things(), name="leads.ods")

    assert error.code == "malformed_file"
    assert "this .ods is a zip archive but not an OpenDocument spreadsheet" in error.detail


def test_ods_holding_another_opendocument_kind_is_malformed():
    data = workbook_files.ods({}, mimetype="application/vnd.oasis.opendocument.text")

    error = _refusal(data, name="leads.ods")

    assert error.code == "malformed_file"
    assert "application/vnd.oasis.opendocument.text" in error.detail


# --- disguises ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b"<html><body><table><tr><td>first_name</td></tr></table></body></html>",
        b"first_name,last_name,dob\r\nAnn,Lee,01/02/1990\r\n",
        b"first_name\tlast_name\tdob\nAnn\tLee\t01/02/1990\n",
    ],
    ids=["html", "csv", "tsv"],
)
def test_text_export_named_xls_is_refused_naming_what_it_is(text):
    error = _refusal(text, name="export.xls")

    assert error.code == "malformed_file"
    assert "this .xls is an HTML or CSV export, not a workbook: save it as .csv or .xlsx" in (
        error.detail
    )


def test_random_bytes_named_xlsx_are_not_called_a_text_export():
    import random

    noise = random.Random(7).randbytes(4096)

    error = _refusal(noise, name="leads.xlsx")

    assert error.code in ("malformed_file", "not_text")
    assert "HTML or CSV export" not in error.detail
    assert "damaged or another kind of file" in error.detail


def test_xlsx_named_xls_is_read_by_its_content():
    summary, rows = _read(
        hostile_files.xlsx({"Leads": hostile_files.leads_sheet(hostile_files.LEAD)}),
        name="leads.xls",
    )

    assert summary.kind == "xlsx"
    assert rows[0].fields["first_name"] == "Ann"


def test_xls_named_csv_is_read_by_its_content():
    summary, _ = _read(workbook_files.leads_xls(2), name="leads.csv")

    assert (summary.kind, summary.row_count) == ("xls", 2)


def test_xlsb_is_refused_with_advice_to_save_as_xlsx():
    data = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("xl/workbook.bin", b"\x00")

    error = _refusal(data.getvalue(), name="leads.xlsb")

    assert "save it as .xlsx" in error.detail
