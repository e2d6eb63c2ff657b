"""The results CSV: exact header, file order, the lead's record, supplier columns, escaping."""

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from batches import services
from batches.exports import RESULT_COLUMNS, escape_cell, iter_results_csv
from batches.models import BatchFile
from batches.services.inline import batch_process_inline
from leads.models import LeadValidation
from tests.batches.test_messy_files import workbook
from tests.conftest import csv_bytes, upload
from tests.users import staff
from tests.webhooks.factories import make_batch
from webhooks.models import Delivery, DeliveryStatus

CONTRACT_HEADER = (
    "id,first_name,last_name,dob,email,phone,company,validation_status,validation_errors,"
    "validated_at,batch_id,source_file,worksheet,row_number,duplicate_of,webhook_status,"
    "webhook_scheduled_for,webhook_sent_at,webhook_attempts"
)
HEADER = CONTRACT_HEADER + (
    ",reference,postcode,consent_at,consent_source,website,email_disposable,email_role,"
    "email_free,email_suggestion,company_domain,company_name,company_size,company_location,"
    "company_industry,phone_type,phone_tps,tps_screened_at,ai_corrected,customer"
)
FEATURE_COLUMNS = HEADER.split(",")[24:]
REQUIRED = ("first_name", "last_name", "dob")


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


def test_header_is_exactly_the_settled_header():
    assert ",".join(RESULT_COLUMNS) == HEADER


def read_csv(text: str) -> list[dict]:
    assert text.startswith("\ufeff"), "UTF-8 BOM first"
    return list(csv.DictReader(io.StringIO(text[1:])))


def header_of(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text[1:])))


def process(*files: tuple[str, list[str], list[list[str]]]):
    """Upload (name, header, rows) files as one batch and process it in this process."""
    uploads = [upload(name, csv_bytes(rows, header=header)) for name, header, rows in files]
    return batch_process_inline(batch=services.batch_create(files=uploads, queue=False))


def export(leads) -> str:
    return "".join(iter_results_csv(leads))


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


# --- the lead's own record ----------------------------------------------------------------------


@pytest.mark.django_db
def test_lead_data_columns_carry_the_lead_record_with_consent_in_utc():
    batch = process(("crm.csv", REQUIRED, [["John", "Smith", "15/03/1990"]]))
    batch.leads.update(
        reference="=CRM-1",
        postcode="SW1A 1AA",
        consent_at=datetime(2026, 6, 1, 12, 0, 5, tzinfo=timezone(timedelta(hours=2))),
        consent_source="https://offers.example.com/form",
        consent_text="I agree to be contacted.",
        website="example.com",
    )

    (row,) = read_csv(export(batch.leads.all()))

    assert row["reference"] == "'=CRM-1"
    assert row["postcode"] == "SW1A 1AA"
    assert row["consent_at"] == "2026-06-01T10:00:05Z"
    assert row["consent_source"] == "https://offers.example.com/form"
    assert row["website"] == "example.com"
    assert "I agree to be contacted." not in row.values()


@pytest.mark.django_db
def test_columns_of_steps_that_did_not_run_are_present_and_empty():
    batch = process(("crm.csv", REQUIRED, [["John", "Smith", "15/03/1990"]]))

    (row,) = read_csv(export(batch.leads.all()))

    # No e-mail, phone or website: no enrichment step had anything to read.
    assert {name: row[name] for name in FEATURE_COLUMNS} == dict.fromkeys(FEATURE_COLUMNS, "") | {
        "customer": "default"
    }


@pytest.mark.django_db
def test_lead_without_consent_has_an_empty_consent_at():
    batch = process(("crm.csv", REQUIRED, [["John", "Smith", "15/03/1990"]]))

    (row,) = read_csv(export(batch.leads.all()))

    assert (row["consent_at"], row["reference"], row["website"]) == ("", "", "")


# --- the supplier's columns ---------------------------------------------------------------------


def two_files_batch():
    batch = process(
        ("crm.csv", (*REQUIRED, "Source", "Campaign"), [["John", "Smith", "15/03/1990", "", ""]]),
        ("vendor.csv", (*REQUIRED, "Agent", "Campaign"), [["Jane", "Doe", "22/08/1985", "", ""]]),
    )
    # Written directly: what the split stores under each header as the file names it.
    batch.leads.filter(source_file="crm.csv").update(extra={"Source": "web", "Campaign": "spring"})
    batch.leads.filter(source_file="vendor.csv").update(extra={"Agent": "Ann"})
    return batch


@pytest.mark.django_db
def test_supplier_columns_follow_ours_first_file_first_then_new_headers_of_later_files():
    batch = two_files_batch()

    text = export(batch.leads.all())

    assert header_of(text) == [*HEADER.split(","), "Source", "Campaign", "Agent"]
    john, jane = read_csv(text)
    assert (john["Source"], john["Campaign"], john["Agent"]) == ("web", "spring", "")
    assert (jane["Source"], jane["Campaign"], jane["Agent"]) == ("", "", "Ann")


@pytest.mark.django_db
def test_supplier_columns_of_a_workbook_follow_its_sheets_in_order():
    book = workbook(
        {
            "March": [[*REQUIRED, "Zone"], ["Jo", "Li", "01/01/1980", "North"]],
            "April": [[*REQUIRED, "Agent", "Zone"], ["Al", "Ng", "02/02/1982", "Bo", "South"]],
        }
    )
    batch = batch_process_inline(
        batch=services.batch_create(files=[upload("leads.xlsx", book)], queue=False)
    )

    text = export(batch.leads.all())

    assert header_of(text)[len(RESULT_COLUMNS) :] == ["Zone", "Agent"]


@pytest.mark.django_db
def test_supplier_columns_are_those_of_the_exported_leads_files():
    batch = two_files_batch()

    text = export(LeadValidation.objects.filter(batch=batch, source_file="vendor.csv"))

    assert header_of(text)[len(RESULT_COLUMNS) :] == ["Agent", "Campaign"]


@pytest.mark.django_db
def test_supplier_header_equal_to_one_of_ours_gets_file_appended():
    batch = process(
        ("crm.csv", (*REQUIRED, "id", "webhook_status"), [["John", "Smith", "15/03/1990", "", ""]])
    )
    batch.leads.update(extra={"id": "CRM-7", "webhook_status": "hot"})

    text = export(batch.leads.all())

    assert header_of(text)[len(RESULT_COLUMNS) :] == ["id (file)", "webhook_status (file)"]
    (row,) = read_csv(text)
    assert (row["id"], row["id (file)"]) == ("john.smith.15031990", "CRM-7")
    assert row["webhook_status (file)"] == "hot"


@pytest.mark.django_db
def test_supplier_headers_and_values_are_formula_escaped():
    batch = process(
        ("crm.csv", (*REQUIRED, "=cmd()", "@risk"), [["Jo", "Li", "01/01/1980", "", ""]])
    )
    batch.leads.update(extra={"=cmd()": "+1+1", "@risk": "-3"})

    text = export(batch.leads.all())

    assert header_of(text)[len(RESULT_COLUMNS) :] == ["'=cmd()", "'@risk"]
    (row,) = read_csv(text)
    assert (row["'=cmd()"], row["'@risk"]) == ("'+1+1", "'-3")


@pytest.mark.django_db
def test_empty_and_repeated_supplier_headers_get_column_letter_and_number():
    batch = process(
        ("crm.csv", (*REQUIRED, "Notes", "", "Notes"), [["Jo", "Li", "01/01/1980", "", "b", ""]])
    )
    batch.leads.update(extra={"Notes": "a", "column_E": "b", "Notes (2)": "c"})

    text = export(batch.leads.all())

    assert header_of(text)[len(RESULT_COLUMNS) :] == ["Notes", "column_E", "Notes (2)"]
    (row,) = read_csv(text)
    assert (row["Notes"], row["column_E"], row["Notes (2)"]) == ("a", "b", "c")


def export_through(path: str, client, batch, tmp_path) -> str:
    """The results CSV of `batch` as one of the four ways out gives it."""
    if path == "export_results":
        call_command("export_results", batch.batch_id, "-o", str(tmp_path / "out.csv"))
        return (tmp_path / "out.csv").read_bytes().decode("utf-8")
    client.force_login(staff("viewer", "Viewers"))
    if path == "download_results":
        response = client.get(f"/download_results/{batch.batch_id}")
    elif path == "batch action":
        response = client.post(
            "/admin/batches/batchjob/",
            {"action": "export_results", "_selected_action": [batch.pk], "index": 0},
        )
    else:
        pks = list(batch.leads.values_list("pk", flat=True))
        response = client.post(
            "/admin/leads/leadvalidation/",
            {"action": "export_csv", "_selected_action": pks, "index": 0},
        )
    return b"".join(response.streaming_content).decode("utf-8")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["export_results", "download_results", "batch action", "leads"])
def test_every_way_out_writes_the_same_csv_with_the_supplier_columns(path, client, tmp_path):
    batch = two_files_batch()

    text = export_through(path, client, batch, tmp_path)

    assert text == export(batch.leads.all())
    assert header_of(text)[len(RESULT_COLUMNS) :] == ["Source", "Campaign", "Agent"]


# --- several deliveries per lead ----------------------------------------------------------------


@pytest.mark.django_db
def test_webhook_columns_sum_up_two_deliveries_per_lead():
    batch = process(("crm.csv", REQUIRED, [["John", "Smith", "15/03/1990"]]))
    first = Delivery.objects.get(batch=batch)
    due = datetime(2026, 1, 16, 10, 30, tzinfo=UTC)
    Delivery.objects.filter(pk=first.pk).update(
        status=DeliveryStatus.DELIVERED, attempts=2, due_at=due, delivered_at=due
    )
    Delivery.objects.create(
        batch=batch,
        lead=first.lead,
        payload=first.payload,
        status=DeliveryStatus.RETRYING,
        attempts=3,
        due_at=due - timedelta(hours=1),
        next_attempt_at=due,
    )

    (row,) = read_csv(export(batch.leads.all()))

    assert row["webhook_status"] == "retrying"
    assert row["webhook_scheduled_for"] == "2026-01-16T09:30:00Z"
    assert row["webhook_sent_at"] == ""  # not all delivered yet
    assert row["webhook_attempts"] == "5"


# --- streaming ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_header_goes_out_before_any_lead_is_read():
    batch = process(("crm.csv", (*REQUIRED, "Notes"), [["Jo", "Li", "01/01/1980", "x"]]))
    lines = iter_results_csv(batch.leads.all())

    with CaptureQueriesContext(connection) as queries:
        header = next(lines)

    assert header.startswith("\ufeffid,") and header.rstrip().endswith(",Notes")
    assert len(queries) == 1 and "batchfile" in queries[0]["sql"].split("WHERE")[0]
    assert next(lines).startswith("jo.li.01011980,")


def many_leads(n: int):
    batch = make_batch()
    extra = {f"Column {i}": "x" * 40 for i in range(5)}
    BatchFile.objects.create(
        batch=batch,
        position=0,
        name="big.csv",
        row_count=n,
        column_mapping=[{"worksheet": "", "extra": {str(3 + i): h for i, h in enumerate(extra)}}],
    )
    LeadValidation.objects.bulk_create(
        LeadValidation(
            batch=batch,
            seq=seq,
            source_file="big.csv",
            row_number=seq + 1,
            lead_id=f"lead{seq}.smith.01011980",
            first_name=f"Lead{seq}",
            last_name="Smith",
            extra=extra,
        )
        for seq in range(1, n + 1)
    )
    return batch


def peak_while_exporting(leads) -> tuple[int, int]:
    """Lines written and the peak memory (bytes) Python allocated while exporting."""
    tracemalloc.start()
    try:
        lines = sum(1 for _ in iter_results_csv(leads))
        return lines, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.django_db
def test_export_of_many_leads_streams_in_flat_memory():
    small, big = many_leads(2_000), many_leads(8_000)

    small_lines, small_peak = peak_while_exporting(small.leads.all())
    big_lines, big_peak = peak_while_exporting(big.leads.all())

    assert (small_lines, big_lines) == (2_001, 8_001)
    # Four times the leads: a list of the batch would take about four times the memory.
    assert big_peak < 2 * small_peak
