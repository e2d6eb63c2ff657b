"""CSV reading: encodings, delimiters, row numbers, ragged rows and refusals."""

import codecs
import io
import random
import tracemalloc

import pytest

from batches.reading import FileRefused, FileSummary, RawRow, inspect_file, iter_rows

HEADER = "first_name,last_name,dob,email,phone"


def _inspect(data: bytes, *, name="leads.csv", max_rows=1000, max_bytes=10_000_000, **kwargs):
    return inspect_file(
        io.BytesIO(data), name=name, max_rows=max_rows, max_bytes=max_bytes, **kwargs
    )


def _read(data: bytes, **kwargs) -> tuple[FileSummary, list[RawRow]]:
    stream = io.BytesIO(data)
    summary = inspect_file(stream, name="leads.csv", max_rows=10**5, max_bytes=10**7, **kwargs)
    return summary, list(iter_rows(stream, name="leads.csv", summary=summary))


def _refusal(data: bytes, **kwargs) -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        _read(data, **kwargs)
    return refused.value


TEXT = "first_name;last_name;dob;company\r\nZoë;Brontë;1990-01-02;£5 Café Ltd\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("cp1252"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-sig", "utf-16-le-bom", "utf-16-be-bom", "cp1252"],
)
def test_encoding_is_detected_and_text_decoded(data, encoding):
    summary, rows = _read(data)

    assert summary.encoding == encoding
    assert summary.mappings[0].headers[0] == "first_name"  # no BOM left on the header
    assert rows[0].fields == {
        "first_name": "Zoë",
        "last_name": "Brontë",
        "dob": "1990-01-02",
        "company": "£5 Café Ltd",
    }


def test_utf16_without_bom_is_detected_from_its_nul_pattern():
    summary, rows = _read(TEXT.encode("utf-16-le"))

    assert summary.encoding == "utf-16-le"
    assert rows[0].fields["first_name"] == "Zoë"


def test_ascii_start_with_cp1252_further_on_is_read_as_cp1252():
    filler = "".join(f"Ann{i},Lee,1990-01-01\n" for i in range(5000))  # well past the sample
    data = ("first_name,last_name,dob\n" + filler + "Renée,Dubois,1990-01-01\n").encode("cp1252")

    summary, rows = _read(data)

    assert summary.encoding == "cp1252"
    assert rows[-1].fields["first_name"] == "Renée"
    assert rows[-1].row_number == 5002


@pytest.mark.parametrize(
    ("utf8", "cp1252"),
    [
        ("José,Müller", ["Zoë,Brontë"]),
        ("José,Lee", ["Zoë,Brontë"]),  # one letter in UTF-8
        ("José,Müller", ["Zoë,Brontë", "Renée,Noël", "Chloé,Dupré"]),  # fewer than in cp1252
        ("Sean,O’Neil", ["Zoë,Brontë"]),  # a UTF-8 apostrophe
        ("Ann,Lee £5", ["Zoë,Brontë"]),
    ],
)
def test_ascii_start_then_utf8_then_cp1252_is_refused_naming_the_cp1252_row(utf8, cp1252):
    # Read as Windows-1252, "José" would become "JosÃ©" and pass as valid.
    filler = "".join(f"Ann{i},Lee,1990-01-01\n" for i in range(5000))  # well past the sample
    data = (
        ("first_name,last_name,dob\n" + filler + utf8 + ",1990-01-01\n").encode()
        + "".join(f"{row},1980-01-01\n" for row in cp1252).encode("cp1252")
        + b"Ann,Lee,1990-01-01\n" * 3
    )

    error = _refusal(data)

    assert error.code == "not_text"
    assert error.row == 5003
    assert "not valid utf-8 text, unlike the rest of the file" in error.detail


@pytest.mark.parametrize("name", ["ANDRÉ’S", "CAFÉ\xa0BAR", "Renée"])
def test_ascii_start_then_windows_1252_that_looks_like_utf8_in_places_is_read(name):
    # "É’" is C9 92 and "É" before a no-break space C9 A0: both valid UTF-8 pairs.
    filler = "".join(f"Ann{i},Lee,1990-01-01\n" for i in range(5000))
    data = ("first_name,last_name,dob\n" + filler + f"{name},Noël,1990-01-01\n").encode("cp1252")

    summary, rows = _read(data)

    assert summary.encoding == "cp1252"
    assert (rows[-1].fields["first_name"], rows[-1].fields["last_name"]) == (name, "Noël")


def test_an_accented_capital_cut_by_a_piece_of_the_read_is_not_taken_for_utf8():
    # É (C9) is the last byte of the first 1 MB piece; the comma after it is not UTF-8's.
    piece = 1024 * 1024
    lines = ["first_name,last_name,dob\n"]
    size = len(lines[0])
    while size < piece - 1000:
        lines.append(f"Ann{len(lines)},Lee,1990-01-01\n")
        size += len(lines[-1])
    lines.append("X," + "Y" * (piece - 1 - size - len("X,")))
    data = ("".join(lines) + "É,1990-01-01\nRenée,Lee,1990-01-01\n").encode("cp1252")
    assert data[piece - 1 : piece] == "É".encode("cp1252")

    summary, rows = _read(data)

    assert summary.encoding == "cp1252"
    assert rows[-1].fields["first_name"] == "Renée"


def test_invalid_utf8_after_utf8_text_is_refused_naming_the_row():
    filler = "".join(f"Zoë{i},Lee,1990-01-01\n" for i in range(5000))
    data = ("first_name,last_name,dob\n" + filler).encode() + b"Ren\xe9e,Dubois,1990-01-01\n"

    error = _refusal(data)

    assert error.code == "not_text"
    assert error.row == 5002
    assert "utf-8" in error.detail


def test_broken_utf16_surrogate_is_refused_naming_the_row():
    # surrogateescape cannot stand in for these bytes; the row must still be found.
    data = codecs.BOM_UTF16_LE + "first_name,last_name,dob\nAnn,Lee,1990\n".encode("utf-16-le")
    data += b"\x00\xd8" + "Bob,Ray,1985\n".encode("utf-16-le")

    error = _refusal(data)

    assert (error.code, error.row) == ("not_text", 3)


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"]
)
def test_delimiter_is_sniffed(delimiter):
    lines = [HEADER.split(","), ["Ann", "Lee", "1990-01-01", "ann@example.com", "+44 7911"]]
    data = "\n".join(delimiter.join(line) for line in lines).encode()

    summary, rows = _read(data)

    assert summary.delimiter == delimiter
    assert rows[0].fields["phone"] == "+44 7911"


def test_delimiter_inside_a_quoted_header_does_not_fool_the_sniffer():
    data = b'"Name, first";last_name;dob\nAnn;Lee;1990-01-01\n'

    summary = _inspect(data, aliases={"first_name": ["Name, first"]})

    assert summary.delimiter == ";"


def test_alias_headers_are_mapped():
    data = "First Name;Surname;Date of Birth;Email;Mobile\nAnn;Lee;1990-01-01;a@b.co;0791\n"

    summary, rows = _read(data.encode())

    assert summary.mappings[0].fields == {
        "first_name": 0,
        "last_name": 1,
        "dob": 2,
        "email": 3,
        "phone": 4,
    }
    assert rows[0].fields["phone"] == "0791"


def test_fuzzy_header_is_mapped():
    summary, rows = _read(b"Frist Name,Last Name,DOB\nAnn,Lee,1990-01-01\n")

    assert summary.mappings[0].matched_by["first_name"].startswith("fuzzy:")
    assert rows[0].fields["first_name"] == "Ann"


def test_unknown_column_is_kept_in_extra():
    _, rows = _read(b"first_name,Notes,last_name,dob\nAnn, call after 5 ,Lee,1990-01-01\n")

    assert rows[0].extra == {"Notes": "call after 5"}
    assert "Notes" not in rows[0].fields


def test_values_are_stripped_of_surrounding_whitespace():
    _, rows = _read(b"first_name,last_name,dob\n  Ann ,\tLee,  1990-01-01  \n")

    assert rows[0].fields == {"first_name": "Ann", "last_name": "Lee", "dob": "1990-01-01"}


def test_ambiguous_mapping_is_refused():
    error = _refusal(b"First Name,Forename,Surname,DOB\nAnn,Ann,Lee,1990-01-01\n")

    assert error.code == "ambiguous_columns"


def test_missing_column_is_refused_with_the_closest_matches():
    error = _refusal(b"First Name,Surname,Birth\nAnn,Lee,1990-01-01\n")

    assert error.code == "missing_columns"
    assert "'First Name', 'Surname', 'Birth'" in error.detail
    assert "dob: closest is 'Birth'" in error.detail


def test_quoted_field_spanning_lines_is_one_spreadsheet_row():
    data = (
        b"first_name,last_name,dob,company\n"
        b'Ann,Lee,1990-01-01,"Acme\nWidgets\r\nLtd"\n'
        b"Bob,Ray,1985-02-03,X\n"
    )

    summary, rows = _read(data)

    assert summary.row_count == 2
    assert rows[0].fields["company"] == "Acme\nWidgets\r\nLtd"
    assert [row.row_number for row in rows] == [2, 3]


def test_mapping_carries_the_files_row_count():
    summary, _ = _read(b"first_name,last_name,dob\nAnn,Lee,1990-01-01\n\nBob,Ray,1985-02-03\n")

    assert summary.mappings[0].row_count == summary.row_count == 2


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_blank_lines_are_skipped_but_keep_their_row_numbers(newline):
    lines = ["", "first_name,last_name,dob", "Ann,Lee,1990-01-01", "", "  ", ",,", "Bob,Ray,1985"]
    data = newline.join([*lines, "", ""]).encode()

    summary, rows = _read(data)

    assert summary.row_count == 2
    assert [row.row_number for row in rows] == [3, 7]


@pytest.mark.parametrize(
    ("line", "found", "fields"),
    [
        ("Ann,Lee,1990-01-01,a@b.co,0791,surplus", 6, 5),
        ("Ann,Lee,1990-01-01", 3, 3),
    ],
    ids=["too-many-cells", "too-few-cells"],
)
def test_ragged_row_is_yielded_as_malformed(line, found, fields):
    data = f"{HEADER}\nBob,Ray,1985-02-03,b@c.co,0792\n\n{line}\n".encode()

    summary, rows = _read(data)

    assert summary.row_count == 2
    assert rows[0].malformed is None
    assert rows[1].row_number == 4
    assert rows[1].malformed == f"row 4: expected 5 cells, found {found}"
    assert len(rows[1].fields) == fields
    assert rows[1].fields["first_name"] == "Ann"


def test_nul_byte_is_refused_naming_the_row():
    error = _refusal(b"first_name,last_name,dob\nAnn,Lee,1990-01-01\nB\x00b,Ray,1985\n")

    assert error.code == "not_text"
    assert error.row == 3
    assert "row 3" in str(error)


def test_line_over_64k_characters_is_refused_naming_the_row():
    data = b"first_name,last_name,dob,notes\nAnn,Lee,1990-01-01,short\n"
    data += b"Bob,Ray,1985," + b"x" * 70_000 + b"\n"

    error = _refusal(data)

    assert error.code == "malformed_file"
    assert error.row == 3


def test_line_of_exactly_64k_characters_is_accepted():
    line = b"Bob,Ray,1985,"
    data = b"first_name,last_name,dob,notes\r\n" + line + b"x" * (65_536 - len(line)) + b"\r\n"

    summary, rows = _read(data)

    assert summary.row_count == 1
    assert len(rows[0].extra["notes"]) == 65_536 - len(line)


def test_empty_file_is_refused():
    assert _refusal(b"").code == "file_empty"


@pytest.mark.parametrize(
    "data",
    [
        b"first_name,last_name,dob\n",
        b"first_name,last_name,dob\n\n,,\n",
        b"\n\r\n  \n",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\xfe\xff\x00\n",
    ],
    ids=["header-only", "header-and-blank-lines", "blank-lines-only", "bom", "utf16-bom", "utf16"],
)
def test_file_without_data_rows_is_refused(data):
    assert _refusal(data).code == "no_data_rows"


def test_a_line_holding_only_a_byte_order_mark_is_blank_when_counted_and_read():
    summary, rows = _read(b"first_name,last_name,dob\nAnn,Lee,1990-01-01\n\xef\xbb\xbf\n")

    assert summary.row_count == len(rows) == 1


def test_more_rows_than_the_limit_is_refused():
    data = b"first_name,last_name,dob\n" + b"Ann,Lee,1990-01-01\n\n" * 4

    assert _inspect(data, max_rows=4).row_count == 4
    with pytest.raises(FileRefused) as refused:
        _inspect(data, max_rows=3)
    assert refused.value.code == "too_many_rows"
    assert refused.value.row == 8


def test_file_over_the_byte_limit_is_refused():
    data = b"first_name,last_name,dob\n" + b"Ann,Lee,1990-01-01\n" * 10

    with pytest.raises(FileRefused) as refused:
        _inspect(data, max_bytes=len(data) - 1)

    assert refused.value.code == "too_large"


def test_random_binary_is_refused_as_not_text():
    data = random.Random(42).randbytes(4096)

    assert _refusal(data).code == "not_text"


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500)],
    ids=["pdf", "legacy-xls"],
)
def test_known_binary_formats_are_refused_as_not_text(data):
    assert _refusal(data).code == "not_text"


def test_inspect_rewinds_the_file_after_success_and_refusal():
    good = io.BytesIO(b"first_name,last_name,dob\nAnn,Lee,1990-01-01\n")
    bad = io.BytesIO(b"first_name,last_name\nAnn,Lee\n")

    inspect_file(good, name="a.csv", max_rows=10, max_bytes=1000)
    with pytest.raises(FileRefused):
        inspect_file(bad, name="b.csv", max_rows=10, max_bytes=1000)

    assert (good.tell(), bad.tell()) == (0, 0)


class _ReadSeekOnly:
    """Like a storage file: read and seek, no name, no fileno, no readinto."""

    def __init__(self, data: bytes):
        self._stream = io.BytesIO(data)
        self.furthest = 0

    def read(self, size=-1):
        data = self._stream.read(size)
        self.furthest = max(self.furthest, self._stream.tell())
        return data

    def seek(self, offset, whence=0):
        return self._stream.seek(offset, whence)

    def tell(self):
        return self._stream.tell()


def test_rows_stream_without_reading_the_whole_file():
    body = "".join(f"Ann{i},Lee,1990-01-01\n" for i in range(200_000))
    stream = _ReadSeekOnly(("first_name,last_name,dob\n" + body).encode())
    summary = inspect_file(stream, name="big.csv", max_rows=10**6, max_bytes=10**8)
    stream.furthest = 0

    rows = iter_rows(stream, name="big.csv", summary=summary)
    first = next(rows)

    assert first.row_number == 2
    assert stream.furthest <= 256 * 1024
    rows.close()


def test_iter_rows_reuses_the_summary():
    stream = io.BytesIO("first_name;last_name;dob\nZoë;Lee;1990\n".encode("cp1252"))
    summary = inspect_file(stream, name="a.csv", max_rows=10, max_bytes=1000)

    rows = list(iter_rows(stream, name="a.csv", summary=summary))

    assert (summary.kind, summary.encoding, summary.delimiter) == ("csv", "cp1252", ";")
    assert rows == [
        RawRow("a.csv", "", 2, {"first_name": "Zoë", "last_name": "Lee", "dob": "1990"})
    ]


def test_ascii_only_file_is_utf8():
    summary, _ = _read(b"first_name,last_name,dob\nAnn,Lee,1990-01-01\n")

    assert summary.encoding == "utf-8"


def test_bytes_undecodable_even_as_cp1252_are_refused_naming_the_row():
    filler = b"".join(b"Ann%d,Lee,1990-01-01\n" % i for i in range(5000))
    data = b"first_name,last_name,dob\n" + filler + b"R\x81n,Dubois,1990-01-01\n"

    error = _refusal(data)

    assert error.code == "not_text"
    assert error.row == 5002


def test_trailing_delimiters_add_no_supplier_column():
    summary, rows = _read(
        b"first_name,last_name,dob,,,\nAnn,Lee,1990-01-01,,,\nBo,Li,1990-01-01,,,\n"
    )

    assert summary.mappings[0].extra == {}, "no header and no value: nothing to carry"
    assert [row.extra for row in rows] == [{}, {}]
    assert rows[0].malformed is None


def test_a_column_without_a_header_stays_when_a_row_fills_it():
    summary, rows = _read(
        b"first_name,last_name,dob,,\nAnn,Lee,1990-01-01,,\nBo,Li,1990-01-01,,VIP\n"
    )

    assert summary.mappings[0].extra == {4: "column_E"}
    assert [row.extra for row in rows] == [{}, {"column_E": "VIP"}]


def test_value_under_a_blank_header_is_kept_in_extra():
    _, rows = _read(b"first_name,last_name,dob,\nAnn,Lee,1990-01-01,VIP\n")

    assert rows[0].extra == {"column_D": "VIP"}


def test_unterminated_quote_swallowing_the_file_is_refused_as_malformed():
    body = b"".join(b"Ann%d,Lee,1990-01-01\n" % i for i in range(10_000))
    data = b'first_name,last_name,dob\nAnn,"Lee,1990-01-01\n' + body

    error = _refusal(data)

    assert error.code == "malformed_file"
    assert error.row == 2


def test_unclosed_quote_reading_the_next_rows_as_one_cell_is_refused_naming_its_row():
    body = b"".join(b"Ann%d,Lee,1990-01-01,a%d@x.co\n" % (i, i) for i in range(2_000))
    data = b"first_name,last_name,dob,email\nAnn,Ace,1980-01-01,a@x.co\n"
    data += b'"Bad,Quote,1981-02-02,b@x.co\n' + body  # 58 KB: under the field size limit

    error = _refusal(data)

    assert (error.code, error.row) == ("malformed_file", 3)
    assert "2,001 lines from here on were read as one row" in error.detail
    assert "2,000 of them looking like rows of their own" in error.detail


def test_stray_quote_closed_rows_later_is_refused_naming_its_row():
    data = (
        b"first_name,last_name,dob\n"
        b"Ann,Lee,1990-01-01\n"
        b'Bob,"Ray,1985-02-03\n'
        b"Ken,Lee,1970-01-01\n"
        b'Dee,Eve",1980-01-01,x\n'
        b"Fay,Gee,1975-01-01\n"
    )

    error = _refusal(data)

    assert (error.code, error.row) == ("malformed_file", 3)
    assert "3 lines from here on were read as one row, 1 of them" in error.detail


def test_stray_quote_in_the_last_column_closed_by_a_later_quoted_cell_is_refused():
    data = b"first_name,last_name,dob,notes\nAnn,Lee,1990-01-01,ok\n"
    data += b'Bob,Ray,1985-02-03,"call after 6\n' + b"Ken,Lee,1970-01-01,x\n" * 46
    data += b'Vic,Vip,1980-01-01,"VIP"\nZed,Zee,1975-01-01,\n'  # the row keeps its width

    error = _refusal(data)

    assert (error.code, error.row) == ("malformed_file", 3)


@pytest.mark.parametrize(
    "row",
    [b'Ann,Lee,1990-01-01,"12 High St\nLondon",extra', b'Ann,Lee,"1 Main St,\nLeeds, LS1"'],
    ids=["a-cell-too-many", "a-cell-too-few"],
)
def test_a_multi_line_row_only_locally_wrong_is_a_malformed_lead(row):
    data = b"first_name,last_name,dob,address\n" + row + b"\nBob,Ray,1985-02-03,x\n"

    summary, rows = _read(data)

    assert summary.row_count == 2
    assert rows[0].malformed is not None and rows[1].malformed is None


def test_quote_left_open_in_the_last_column_is_refused_however_wide_the_row():
    data = b"first_name,last_name,dob,notes\nAnn,Lee,1990-01-01,ok\n"
    data += b'Bob,Ray,1985-02-03,"call after 6\n' + b"Ken,Lee,1970-01-01,x\n" * 50

    error = _refusal(data)

    assert (error.code, error.row) == ("malformed_file", 3)
    assert "51 lines from here on were read as one row, 50 of them" in error.detail


@pytest.mark.parametrize(
    "last", [b'Bob,Ray,1985-02-03,"call after 6', b'Bob,"R"ay,1985-02-03,"call after 6']
)
def test_quote_left_open_to_the_end_of_the_file_is_refused_whatever_the_lines_hold(last):
    data = b"first_name,last_name,dob,notes\nAnn,Lee,1990-01-01,ok\n"
    data += last + b"\nor on Sunday\n"

    error = _refusal(data)

    assert (error.code, error.row) == ("malformed_file", 3)
    assert "never closed: the last 2 lines of the file" in error.detail


@pytest.mark.parametrize("end", [b"\n", b""], ids=["newline", "no-newline"])
def test_closed_quote_spanning_lines_in_the_last_row_is_accepted(end):
    data = b'first_name,last_name,dob,notes\nBob,Ray,1985-02-03,"call\nafter 6 ""pm"""' + end

    summary, rows = _read(data)

    assert summary.row_count == 1
    assert rows[0].extra["notes"] == 'call\nafter 6 "pm"'


def test_memory_does_not_grow_with_the_number_of_rows():
    body = "".join(f"Ann{i},Lee,1990-01-01,ann{i}@example.com\n" for i in range(20_000))
    stream = io.BytesIO(("first_name,last_name,dob,email\n" + body).encode())
    assert len(stream.getvalue()) > 700_000

    tracemalloc.start()
    try:
        summary = inspect_file(stream, name="big.csv", max_rows=10**6, max_bytes=10**8)
        inspect_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        count = sum(1 for _ in iter_rows(stream, name="big.csv", summary=summary))
        iter_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert count == summary.row_count == 20_000
    assert inspect_peak < 1_000_000
    assert iter_peak < 1_000_000


def test_utf8_text_with_a_windows_1252_row_in_the_sample_is_refused_naming_the_row():
    data = "first_name,last_name,dob\nJosé,Núñez,1990-03-15\nZoë,Brontë,1985-01-02\n".encode()
    data += "Renée,Müller,1970-01-01\n".encode("cp1252")  # pasted in from another export

    error = _refusal(data)

    assert (error.code, error.row) == ("not_text", 4)
    assert "utf-8" in error.detail


@pytest.mark.parametrize(
    "text",
    [
        "Renée,Müller,1970-01-01,£5\n",
        "Øyvind,Ærø,1970-01-01,«Â» ©\n",
        "Zoë,Smith,01/01/1990,CAFÉ’S LTD\n",
        "RENÉ,JOSÉ”,01/01/1990,Café\n",
    ],
    ids=["latin", "a-mojibake-like-pair", "capital-and-apostrophe", "capital-and-quote"],
)
def test_windows_1252_text_is_still_read_as_windows_1252(text):
    data = ("first_name,last_name,dob,notes\n" + text).encode("cp1252")

    summary, rows = _read(data)

    assert summary.encoding == "cp1252"
    assert rows[0].fields["first_name"] == text.split(",")[0]


@pytest.mark.parametrize(
    ("above", "header_row"),
    [
        (["Lead export - Acme March 2026,,,", ",,,"], 3),  # a title and a blank line
        (["Contact,,Personal,Contact details"], 2),  # a row of column groups
    ],
)
def test_a_title_or_group_row_above_the_header_is_passed_over(above, header_row):
    text = "\r\n".join([*above, "First Name,Last Name,DOB,Email", "Ann,Lee,01/02/1990,a@x.io"])

    summary, rows = _read((text + "\r\n").encode())

    (mapping,) = summary.mappings
    assert mapping.header_row == header_row and mapping.headers[0] == "First Name"
    assert f"the header is on row {header_row}" in mapping.notes[0]
    assert [(row.row_number, row.fields["first_name"]) for row in rows] == [(header_row + 1, "Ann")]


def test_a_header_missing_a_column_is_refused_for_itself_not_for_the_rows_below():
    data = "First Name,Last Name,Email\r\n" + "Ann,Lee,a@x.io\r\n" * 12

    error = _refusal(data.encode())

    assert error.code == "missing_columns"
    assert "missing required column dob; headers found: 'First Name', 'Last Name'" in error.detail


def test_totals_footers_and_a_repeated_header_are_not_read_and_the_notes_say_so():
    text = "\r\n".join(
        [
            "First Name;Surname;DOB;Cost",
            "Ann;Lee;01/02/1990;£5",
            "First Name;Surname;DOB;Cost",  # a second export pasted below the first
            "Bob;Roe;02/03/1985;£5",
            "Cy;Poe;;£5",  # a person without a date of birth is still a lead
            "Total;;;£15",
            "Total rows: 3",
            "End of report;;;",
        ]
    )

    summary, rows = _read((text + "\r\n").encode())

    assert [(row.row_number, row.fields["first_name"]) for row in rows] == [
        (2, "Ann"),
        (4, "Bob"),
        (5, "Cy"),
    ]
    (mapping,) = summary.mappings
    assert summary.row_count == mapping.row_count == 3
    assert mapping.notes == (
        "not read, holding no lead: row 3 (the header row again), row 6 (a total or footer "
        "line), row 7 (a total or footer line), row 8 (a total or footer line)",
    )


@pytest.mark.parametrize("first", ["Totally", "Subtle", "Endo"])
def test_a_name_that_only_starts_like_a_footer_is_a_lead(first):
    summary, rows = _read(f"first_name,last_name,dob\r\n{first},,\r\n".encode())

    assert [row.fields["first_name"] for row in rows] == [first]
    assert summary.mappings[0].notes == ()


def test_a_file_of_totals_only_has_no_data_rows():
    error = _refusal(b"first_name,last_name,dob\r\nTotal,,\r\n")

    assert error.code == "no_data_rows"
