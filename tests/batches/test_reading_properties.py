"""Bad input never takes the reader down: any bytes give rows or a refusal with a reason.

Property-based (hypothesis): random bytes, random CSV shapes and random cell values go
through inspect_file and iter_rows, and each row found then through the lead rules, as the
split and the chunks would take it.
"""

import codecs
import csv
import datetime
import io

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batches.reading import REFUSAL_CODES, FileRefused, inspect_file, iter_rows
from leads.rules import RuleContext, lead_id_for, validate_lead

MAX_ROWS = 200
MAX_BYTES = 200_000
CTX = RuleContext(today=datetime.date(2026, 1, 15))
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADERS = (
    "first_name",
    "last_name",
    "dob",
    "email",
    "phone",
    "company",
    "First Name",
    "Surname",
    "Date of Birth",
    "E-mail",
    "Mobile",
    "Notes",
    "",
)
REQUIRED_NAMES = (
    ("first_name", "First Name", "Forename", "fname"),
    ("last_name", "Last Name", "Surname", "lname"),
    ("dob", "Date of Birth", "DOB", "Birthday"),
)
INTERESTING_CELLS = (
    "",
    " ",
    '"',
    '""',
    "=1+1",
    "John",
    "O'Brien",
    "José",
    "15/03/1990",
    "31/02/1990",
    "1990-03-15",
    "15/3/90",
    "ann@example.com",
    "+44 7911 123456",
    "a\nb",
    "a\r\nb",
    ",;\t|",
    "\ufeff",
    "\x1b[0m",
    "x" * 300,
)
# Mostly text a spreadsheet would hold; control characters now and then (NUL: see random bytes).
cells = st.one_of(
    st.sampled_from(INTERESTING_CELLS),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=40),
    st.text(max_size=10),
)


def read_or_refuse(data: bytes, name: str):
    """Return (summary, rows), or None after checking that the refusal says why."""
    stream = io.BytesIO(data)
    try:
        summary = inspect_file(stream, name=name, max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
        rows = list(iter_rows(stream, name=name, summary=summary))
    except FileRefused as refused:
        assert refused.code in REFUSAL_CODES
        assert refused.detail
        assert str(refused).startswith(name)
        return None
    assert summary.kind in ("csv", "xlsx")
    if summary.kind == "csv":
        assert len(rows) == summary.row_count
    for sheet in {row.worksheet for row in rows}:
        numbers = [row.row_number for row in rows if row.worksheet == sheet]
        assert numbers == sorted(set(numbers)) and numbers[0] >= 2, "rows in file order"
    for row in rows:
        assert all(isinstance(v, str | datetime.date) for v in row.fields.values())
    return summary, rows


def leads_from(rows) -> list[str]:
    """Take each row through the lead rules as the split and a chunk do; return the statuses."""
    statuses = []
    for row in rows:
        fields = row.fields
        lead_id_for(fields.get("first_name"), fields.get("last_name"), fields.get("dob"))
        result = validate_lead(fields, ctx=CTX, malformed=bool(row.malformed))
        assert result.status in ("valid", "invalid")
        assert (result.status == "valid") == (not result.errors)
        statuses.append(result.status)
    return statuses


@FUZZ
@given(data=st.binary(max_size=4000))
def test_random_bytes_give_rows_or_a_refusal(data):
    outcome = read_or_refuse(data, "random.csv")
    if outcome:
        leads_from(outcome[1])


@FUZZ
@given(body=st.binary(max_size=4000), header=st.sampled_from([b"", b"\xef\xbb\xbf"]))
def test_random_bytes_under_a_valid_header_give_rows_or_a_refusal(body, header):
    outcome = read_or_refuse(header + b"first_name,last_name,dob\n" + body, "tail.csv")
    if outcome:
        leads_from(outcome[1])


@st.composite
def csv_files(draw) -> bytes:
    """A delimited file of random shape: header, ragged rows, quoting, line ends, encoding."""
    if draw(st.integers(0, 4)):  # mostly the required columns, under some name, and others
        required = [draw(st.sampled_from(names)) for names in REQUIRED_NAMES]
        others = st.one_of(
            st.sampled_from(("email", "phone", "company", "Notes", "")), st.text(max_size=12)
        )
        header = draw(st.permutations(required + draw(st.lists(others, max_size=3, unique=True))))
    else:
        header = draw(
            st.lists(
                st.one_of(st.sampled_from(HEADERS), st.text(max_size=12)), min_size=1, max_size=7
            )
        )
    width = len(header)
    rows = draw(st.lists(st.lists(cells, max_size=width + 2), min_size=1, max_size=30))
    delimiter = draw(st.sampled_from(",;\t|"))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out = io.StringIO()
    if draw(st.booleans()):
        writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
    else:  # joined without quoting: delimiters and line breaks inside cells break the shape
        for line in [header, *rows]:
            out.write(delimiter.join(line) + newline)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    return codecs.encode(out.getvalue(), encoding, errors="replace")


@FUZZ
@given(data=csv_files())
def test_random_csv_shapes_and_cells_give_leads_or_a_refusal(data):
    outcome = read_or_refuse(data, "shapes.csv")
    if outcome:
        assert len(leads_from(outcome[1])) == outcome[0].row_count


def _workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WORKBOOK = _workbook(
    [
        ["First Name", "Surname", "Date of Birth", "Mobile"],
        ["Ann", "Lee", datetime.date(1990, 1, 2), 7911123457.0],
        ["Bob", "Ray", "04/05/1970", None],
    ]
)


@FUZZ
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(1, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.integers(0, len(WORKBOOK))),
)
def test_damaged_workbook_gives_rows_or_a_refusal(flips, cut):
    data = bytearray(WORKBOOK)
    for offset, mask in flips:
        data[offset] ^= mask
    outcome = read_or_refuse(bytes(data[:cut]), "damaged.xlsx")
    if outcome:
        leads_from(outcome[1])


# openpyxl refuses control characters in cells; everything else a spreadsheet can hold.
workbook_cells = st.one_of(
    st.none(),
    st.sampled_from([c for c in INTERESTING_CELLS if c.isprintable()]),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=datetime.date(1900, 3, 1)),
)


@settings(FUZZ, max_examples=50)
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=6),
    rows=st.lists(st.lists(workbook_cells, max_size=7), max_size=10),
)
def test_random_workbook_cells_give_leads_or_a_refusal(header, rows):
    outcome = read_or_refuse(_workbook([header, *rows]), "cells.xlsx")
    if outcome:
        leads_from(outcome[1])
