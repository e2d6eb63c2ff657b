"""Real-world files through the whole pipeline: encodings, delimiters, headers, workbooks."""

import codecs
import csv
import datetime
import io

import openpyxl
import pytest

from batches import services
from batches.exports import iter_results_csv
from batches.models import BatchFile, BatchJob
from batches.services.inline import batch_process_inline
from leads.models import LeadValidation
from tests.conftest import upload

pytestmark = pytest.mark.django_db

JOHN = "john.smith.15031990"
JOSE = "jose.nunez.22081985"
ZOE = "zoe.obrien.15031990"


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def text(lines: list[str], *, newline: str = "\n") -> str:
    return newline.join(lines) + newline


def process(*files: tuple[str, bytes]) -> BatchJob:
    batch = services.batch_create(files=[upload(name, data) for name, data in files], queue=False)
    return batch_process_inline(batch=batch)


def leads_of(batch: BatchJob) -> list[tuple]:
    return list(
        LeadValidation.objects.filter(batch=batch)
        .order_by("seq")
        .values_list("row_number", "worksheet", "lead_id", "status", "errors")
    )


PEOPLE = ["John,Smith,15/03/1990", "José,Núñez,22/08/1985", "Zoë,O'Brien,1990-03-15"]
PEOPLE_OK = [
    (2, "", JOHN, "valid", []),
    (3, "", JOSE, "valid", []),
    (4, "", ZOE, "valid", []),
]


def _people(header: str, sep: str) -> str:
    return text([header, *(p.replace(",", sep) for p in PEOPLE)])


MESSY_FILES = {
    "utf8-comma-field-names": (
        "leads.csv",
        _people("first_name,last_name,dob", ",").encode("utf-8"),
        PEOPLE_OK,
    ),
    "utf8-bom-semicolon-aliases": (
        "crm.csv",
        codecs.BOM_UTF8 + _people("First Name;Surname;Date of Birth", ";").encode("utf-8"),
        PEOPLE_OK,
    ),
    "utf16le-bom-tab": (
        "export.txt",
        codecs.BOM_UTF16_LE + _people("Forename\tFamily Name\tDOB", "\t").encode("utf-16-le"),
        PEOPLE_OK,
    ),
    "utf16be-bom-pipe": (
        "vendor.csv",
        codecs.BOM_UTF16_BE + _people("Given Name|Last Name|Birth Date", "|").encode("utf-16-be"),
        PEOPLE_OK,
    ),
    "windows-1252-comma": (
        "excel-export.csv",
        _people("fname,lname,Birthday", ",").encode("cp1252"),
        PEOPLE_OK,
    ),
    "fuzzy-headers": (
        "typos.csv",
        _people("Frist Name,Last Nmae,Date of Brith", ",").encode("utf-8"),
        PEOPLE_OK,
    ),
    "crlf-quoted-newline-and-blank-lines": (
        "notes.csv",
        text(
            [
                "FIRST NAME,LAST NAME,D.O.B.,Company Name",
                'John,Smith,15/03/1990,"Acme',
                'Widgets Ltd"',
                "",
                ",,,",
                'José,Núñez,22/08/1985,"Says ""hola"""',
            ],
            newline="\r\n",
        ).encode("utf-8"),
        # A quoted field spanning lines stays on its row, as a spreadsheet shows it.
        [(2, "", JOHN, "valid", []), (5, "", JOSE, "valid", [])],
    ),
    "ragged-rows": (
        "ragged.csv",
        text(
            [
                "first_name,last_name,dob,email",
                "John,Smith,15/03/1990,john@example.com",
                "Ann,Lee",
                "Bob,Ray,01/02/1980,bob@example.com,surplus,cells",
                "José,Núñez,22/08/1985,",
            ]
        ).encode("utf-8"),
        [
            (2, "", JOHN, "valid", []),
            (3, "", "", "invalid", ["row_malformed", "dob_missing"]),
            (4, "", "bob.ray.01021980", "invalid", ["row_malformed"]),
            (5, "", JOSE, "valid", []),
        ],
    ),
    "xlsx-three-sheets-one-empty": (
        "workbook.xlsx",
        workbook(
            {
                "UK": [
                    ["First Name", "Surname", "Date of Birth", "Mobile"],
                    ["John", "Smith", datetime.date(1990, 3, 15), 7911123456],
                    [None, None, None, None],
                    ["Zoë", "O'Brien", datetime.datetime(1990, 3, 15), "07911 123457"],
                ],
                "Empty": [],
                "EU": [
                    ["first_name", "last_name", "dob"],
                    ["José", "Núñez", "22/08/1985"],
                    ["Ann", "Lee", "1985-02-30"],
                ],
            }
        ),
        [
            (2, "UK", JOHN, "valid", []),
            (4, "UK", ZOE, "valid", []),
            (2, "EU", JOSE, "valid", []),
            (3, "EU", "", "invalid", ["dob_unparseable"]),
        ],
    ),
}


@pytest.mark.parametrize(("name", "data", "expected"), MESSY_FILES.values(), ids=MESSY_FILES)
def test_messy_file_gives_the_expected_leads(name, data, expected):
    batch = process((name, data))

    assert batch.status == "completed"
    assert leads_of(batch) == expected
    assert set(
        LeadValidation.objects.filter(batch=batch).values_list("source_file", flat=True)
    ) == {name}


@pytest.mark.parametrize(
    "case", ["utf8-bom-semicolon-aliases", "utf16le-bom-tab", "windows-1252-comma"]
)
def test_accented_names_survive_every_encoding(case):
    name, data, _ = MESSY_FILES[case]
    batch = process((name, data))

    names = list(
        LeadValidation.objects.filter(batch=batch)
        .order_by("seq")
        .values_list("first_name", "last_name")
    )
    assert names == [("John", "Smith"), ("José", "Núñez"), ("Zoë", "O'Brien")]


def test_file_reading_details_are_recorded_per_file():
    name, data, _ = MESSY_FILES["utf16le-bom-tab"]
    batch = process((name, data))

    stored = BatchFile.objects.get(batch=batch)
    assert (stored.kind, stored.encoding, stored.delimiter) == ("csv", "utf-16-le", "\t")
    assert stored.column_mapping[0]["matched_by"] == {
        "first_name": "alias",
        "last_name": "alias",
        "dob": "exact",  # "DOB" is the field's own name, compared case-insensitively
    }


def test_quoted_newline_stays_in_the_company_and_raw_row():
    name, data, _ = MESSY_FILES["crlf-quoted-newline-and-blank-lines"]
    batch = process((name, data))

    john = LeadValidation.objects.get(batch=batch, row_number=2)
    assert john.company == "Acme Widgets Ltd"  # whitespace collapsed for the lead
    assert john.raw["company"] == "Acme\r\nWidgets Ltd"  # as found in the file
    assert LeadValidation.objects.get(batch=batch, row_number=5).company == 'Says "hola"'


def test_ragged_rows_say_why_and_the_rest_of_the_batch_goes_on():
    name, data, _ = MESSY_FILES["ragged-rows"]
    batch = process((name, data))

    short = LeadValidation.objects.get(batch=batch, row_number=3)
    assert short.malformed == "row 3: expected 4 cells, found 2"
    long = LeadValidation.objects.get(batch=batch, row_number=4)
    assert long.malformed == "row 4: expected 4 cells, found 6"
    assert long.email == "bob@example.com"
    assert (batch.valid_count, batch.invalid_count) == (2, 2)


def test_workbook_cells_become_lead_fields():
    name, data, _ = MESSY_FILES["xlsx-three-sheets-one-empty"]
    batch = process((name, data))

    john = LeadValidation.objects.get(batch=batch, worksheet="UK", row_number=2)
    assert john.dob == datetime.date(1990, 3, 15)
    assert john.dob_raw == "1990-03-15"
    assert john.phone == "+447911123456"  # a numeric cell, read as digits, then E.164
    assert LeadValidation.objects.get(batch=batch, worksheet="UK", row_number=4).phone == (
        "+447911123457"
    )


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "phrases"),
    [
        (
            b"First Name,Surname,Birth\nJohn,Smith,15/03/1990\n",
            "missing_columns",
            [
                "missing required column dob",
                "headers found: 'First Name', 'Surname', 'Birth'",
                "dob: closest is 'Birth'",
            ],
        ),
        (
            b"Who,Email\nJohn Smith,j@example.com\n",
            "missing_columns",
            ["missing required columns first_name, last_name, dob", "headers found: 'Who'"],
        ),
        (
            b"First Name,Forename,Surname,DOB\nJohn,J,Smith,15/03/1990\n",
            "missing_columns",
            ["'First Name' and 'Forename' both look like first_name", "column 'Forename'"],
        ),
        (
            b"Email,E-mail Address,first_name,last_name,dob\na@b.co,a@b.co,A,B,01/01/1990\n",
            "missing_columns",
            ["'Email' and 'E-mail Address' both look like email"],
        ),
        (b"First Name,Surname,DOB\r\n\r\n", "no_data_rows", ["header row but no data rows"]),
        (
            workbook({"Empty": [], "Also empty": []}),
            "no_data_rows",
            ["every worksheet is empty"],
        ),
        (
            workbook({"Good": [["first_name", "last_name", "dob"]], "Bad": [["fname", "x"]]}),
            "missing_columns",
            ["worksheet 'Bad'", "missing required columns last_name, dob"],
        ),
    ],
    ids=[
        "missing-dob",
        "nothing-recognised",
        "two-first-names",
        "two-emails",
        "header-only",
        "empty-workbook",
        "workbook-sheet-missing-columns",
    ],
)
def test_refused_file_says_what_is_wrong_and_creates_nothing(data, code, phrases):
    with pytest.raises(services.BatchRefused) as refused:
        services.batch_create(files=[upload("bad.csv", data)])

    assert refused.value.code == code
    assert refused.value.message.startswith("bad.csv")
    for phrase in phrases:
        assert phrase in refused.value.message
    assert not BatchJob.objects.exists()


# --- several files, one batch ------------------------------------------------------------------


def results(batch: BatchJob) -> list[dict]:
    text = "".join(iter_results_csv(LeadValidation.objects.filter(batch=batch)))
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_csv_and_workbook_make_one_batch_deduplicated_across_files():
    crm = text(["First Name,Last Name,DOB", "John,Smith,15/03/1990", "Jane,Doe,22/08/1985"])
    book = workbook(
        {
            "March": [
                ["Forename", "Surname", "Date of Birth"],
                ["JOHN", "SMITH", datetime.date(1990, 3, 15)],
                ["Zoë", "O'Brien", datetime.date(1990, 3, 15)],
            ],
            "Blank": [],
            "April": [["first_name", "last_name", "dob"], ["jane", "doe", "22/08/1985"]],
        }
    )

    batch = process(("crm.csv", crm.encode("cp1252")), ("vendor.xlsx", book))

    rows = results(batch)
    assert [
        (r["source_file"], r["worksheet"], r["row_number"], r["id"], r["validation_status"])
        for r in rows
    ] == [
        ("crm.csv", "", "2", JOHN, "valid"),
        ("crm.csv", "", "3", "jane.doe.22081985", "valid"),
        ("vendor.xlsx", "March", "2", JOHN, "duplicate"),
        ("vendor.xlsx", "March", "3", ZOE, "valid"),
        ("vendor.xlsx", "April", "2", "jane.doe.22081985", "duplicate"),
    ]
    assert rows[2]["duplicate_of"] == f"{batch.batch_id}:crm.csv:2"
    assert rows[3]["dob"] == "15/03/1990"  # from a date cell
    assert (rows[2]["first_name"], rows[4]["first_name"]) == ("John", "Jane")
    assert (batch.total_leads, batch.valid_count, batch.duplicate_count) == (5, 3, 2)
    assert list(batch.files.values_list("name", "row_count")) == [
        ("crm.csv", 2),
        ("vendor.xlsx", 3),
    ]


# --- hostile files -----------------------------------------------------------------------------


def test_long_names_and_nul_characters_fit_the_lead_rows():
    from tests import hostile_files

    batch = process(
        ("long.xlsx", hostile_files.long_names(sheet_chars=300, header_chars=1_000)),
        ("nul.xlsx", hostile_files.nul_in_cells()),
    )

    assert batch.status == "completed", batch.error
    long, nul = LeadValidation.objects.filter(batch=batch).order_by("seq")
    assert long.worksheet == "S" * 255
    assert long.raw["N" * 255] == "note"
    assert (nul.first_name, nul.dob_raw, nul.raw["Notes"]) == ("Ann", "01/02/1990", "a")


def test_a_name_transliterated_past_the_lead_id_column_is_invalid_not_a_failed_batch():
    # Ten characters as given; 180 letters once transliterated, over a name's 100.
    data = "first_name,last_name,dob\n" + "\ufdfd" * 10 + ",Smith,15/03/1990\nBob,Lee,01/01/1980\n"

    batch = process(("long.csv", data.encode()))

    assert batch.status == "completed", batch.error
    long, bob = LeadValidation.objects.filter(batch=batch).order_by("seq")
    assert (long.lead_id, long.errors) == ("", ["name_invalid"])
    assert bob.lead_id == "bob.lee.01011980"


def test_empty_supplier_columns_are_not_stored():
    from tests import hostile_files

    batch = process(("wide.csv", hostile_files.wide_empty_supplier_columns(rows=20)))

    assert batch.status == "completed", batch.error
    assert all(
        set(raw) == {"first_name", "last_name", "dob"}
        for raw in LeadValidation.objects.filter(batch=batch).values_list("raw", flat=True)
    )


def test_refused_upload_leaves_no_temporary_file(client, settings, tmp_path):
    from django.contrib.auth.models import Group, User

    from tests import hostile_files

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100  # every upload goes to a temporary file
    (tmp_path / "uploads").mkdir()
    user = User.objects.create_user("op", password="pw-123456789", is_staff=True)
    user.groups.add(Group.objects.get(name="Operators"))
    client.force_login(user)
    data = hostile_files.opendocument()

    response = client.post("/upload_batch", {"file": upload("leads.xlsx", data)})

    assert response.status_code == 400
    assert response.json()["error"] == "too_large"
    assert list((tmp_path / "uploads").iterdir()) == []
    assert not BatchJob.objects.exists()


def test_placeholder_cells_are_read_as_no_value_and_kept_as_given():
    data = text(
        [
            "First Name,Last Name,DOB,Email,Phone,Company,Postcode",
            "John,Smith,15/03/1990,N/A,-,Unknown,n/a",
            "N/A,Jones,15/03/1990,ann@example.com,,,",
            "Bob,Brown,#N/A,,,,",
            "John,Smith,15/03/1990,john@example.com,07911 123456,Acme Ltd,SW1A 1AA",
        ]
    )
    batch = process(("crm.csv", data.encode()))

    assert batch.status == "completed", batch.error
    john, nameless, dateless, again = LeadValidation.objects.filter(batch=batch).order_by("seq")
    assert (john.lead_id, john.status, john.errors) == (JOHN, "valid", [])
    # The duplicate fills what the first row only had placeholders for.
    assert (john.email, john.phone, john.company, john.postcode) == (
        "john@example.com",
        "+447911123456",
        "Acme Ltd",
        "",  # not an error: "n/a" is no postcode
    )
    assert john.raw["email"] == "N/A" and john.raw["company"] == "Unknown"
    assert (again.status, again.duplicate_of_id) == ("duplicate", john.pk)
    assert (nameless.lead_id, nameless.errors) == ("", ["first_name_missing"])
    assert (dateless.lead_id, dateless.errors, dateless.dob_raw) == ("", ["dob_missing"], "")


def test_a_report_title_above_the_header_is_passed_over_from_upload_to_leads():
    csv_data = text(["Lead export - Acme March 2026,,", ",,", "First Name,Surname,DOB", *PEOPLE])
    book = workbook(
        {
            "March": [
                ["Leads for March"],
                ["Forename", "Family Name", "DOB"],
                *[p.split(",") for p in PEOPLE[:1]],
            ]
        }
    )

    batch = process(("export.csv", csv_data.encode()), ("march.xlsx", book))

    assert batch.status == "completed", batch.error
    assert leads_of(batch) == [
        (4, "", JOHN, "valid", []),
        (5, "", JOSE, "valid", []),
        (6, "", ZOE, "valid", []),
        (3, "March", JOHN, "duplicate", []),
    ]
    mapping = BatchFile.objects.get(batch=batch, name="export.csv").column_mapping[0]
    assert mapping["header_row"] == 3
