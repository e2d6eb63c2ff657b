"""The results CSV: exact header, file order, formula escaping, duplicate references."""

import csv
import io

import pytest
from django.core.management import call_command

from batches import services
from batches.exports import RESULT_COLUMNS, escape_cell, iter_results_csv
from batches.services.inline import batch_process_inline

HEADER = (
    "id,first_name,last_name,dob,email,phone,company,validation_status,validation_errors,"
    "validated_at,batch_id,source_file,worksheet,row_number,duplicate_of,webhook_status,"
    "webhook_scheduled_for,webhook_sent_at,webhook_attempts"
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+441234", "'+441234"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("John", "John"),
        ("", ""),
        (None, ""),
        (7, "7"),
    ],
)
def test_cell_that_would_start_a_formula_is_escaped(value, expected):
    assert escape_cell(value) == expected


def test_header_is_exactly_the_contract():
    assert ",".join(RESULT_COLUMNS) == HEADER


def read_csv(text: str) -> list[dict]:
    assert text.startswith("\ufeff"), "UTF-8 BOM first"
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.mark.django_db
def test_export_lists_leads_in_file_order_with_results(make_upload):
    rows = [
        ["John", "Smith", "15/03/1990"],
        ["=HYPERLINK(1)", "Evil", "01/01/1980"],
        ["john", "smith", "15-03-1990"],
        ["Zoë", "Strauß", "1990-03-15"],
    ]
    batch = services.batch_create(files=[make_upload(rows, name="crm.csv")], queue=False)
    batch = batch_process_inline(batch=batch)
    text = "".join(iter_results_csv(batch.leads.all()))
    assert text.splitlines()[0] == "\ufeff" + HEADER
    exported = read_csv(text)
    assert [r["row_number"] for r in exported] == ["2", "3", "4", "5"]
    first, evil, repeat, zoe = exported
    assert first["id"] == "john.smith.15031990"
    assert first["dob"] == "15/03/1990"
    assert first["validation_status"] == "valid"
    assert first["webhook_status"] == "scheduled"
    assert first["webhook_attempts"] == "0"
    assert first["validated_at"].endswith("Z")
    assert first["batch_id"] == batch.batch_id
    assert first["source_file"] == "crm.csv"
    assert evil["first_name"].startswith("'=")
    assert repeat["validation_status"] == "duplicate"
    assert repeat["duplicate_of"] == f"{batch.batch_id}:crm.csv:2"
    assert repeat["webhook_status"] == ""
    assert zoe["id"] == "zoe.strauss.15031990"
    assert zoe["first_name"] == "Zoë"


@pytest.mark.django_db
def test_export_results_command_writes_the_file(make_upload, tmp_path):
    batch = services.batch_create(files=[make_upload([["A", "B", "01/01/1980"]])], queue=False)
    batch_process_inline(batch=batch)
    out = tmp_path / "out.csv"
    call_command("export_results", batch.batch_id, "-o", str(out))
    exported = read_csv(out.read_bytes().decode("utf-8"))
    assert len(exported) == 1 and exported[0]["id"] == "a.b.01011980"
