"""Screening in the pipeline: TPS flags in the CSV and payload, TPS_REJECT, suppressions."""

import csv
import io

import pytest
from django.core.management import call_command

from batches import services
from batches.exports import write_results_csv
from batches.services.inline import batch_process_inline
from customers.models import Customer
from customers.services import customer_create
from leads.models import LeadStatus, LeadValidation
from screening.models import Suppression
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

HEADER = ("first_name", "last_name", "dob", "email", "phone", "postcode")
ROWS = [
    ["John", "Smith", "15/03/1990", "john@acme.co.uk", "07911 123456", ""],  # on the register
    ["Jane", "Doe", "22/08/1985", "jane@acme.co.uk", "020 7946 0000", "SW1A 1AA"],
    ["Ann", "Lee", "01/01/1980", "", "+1 202 555 0100", ""],  # not a UK number
    ["Cy", "Twombly", "02/02/1970", "", "", ""],
]


def csv_rows(batch):
    buffer = io.BytesIO()
    write_results_csv(LeadValidation.objects.filter(batch=batch), buffer)
    text = buffer.getvalue().decode("utf-8-sig")
    return {row["first_name"]: row for row in csv.DictReader(io.StringIO(text))}


def load_register(tmp_path, text="07911 123456\n01632 960001\n", date="2026-11-30"):
    path = tmp_path / "tps.txt"
    path.write_text(text)
    call_command("import_tps", str(path), "--date", date, stdout=io.StringIO())


def suppress(tmp_path, text, customer=None):
    path = tmp_path / "suppress.csv"
    path.write_text(text)
    args = ["--customer", customer] if customer else []
    call_command("import_suppressions", str(path), *args, stdout=io.StringIO())


def run(make_upload, rows=ROWS, customer=None):
    upload = make_upload(rows, header=HEADER)
    batch = services.batch_create(files=[upload], queue=False, customer=customer)
    batch_process_inline(batch=batch)
    return {lead.first_name: lead for lead in LeadValidation.objects.filter(batch=batch)}, batch


def test_uk_phones_are_screened_into_csv_and_payload(make_upload, tmp_path):
    load_register(tmp_path)
    leads, batch = run(make_upload)

    assert leads["John"].status == LeadStatus.VALID, "on the register is not invalid by itself"
    assert leads["John"].enrichment["phone"] == {
        "status": "ok",
        "type": "mobile",
        "tps": True,
        "screened_at": "2026-11-30T00:00:00Z",
    }
    assert leads["Jane"].enrichment["phone"]["tps"] is False
    assert leads["Ann"].enrichment["phone"]["tps"] is None, "only UK numbers are screened"
    assert leads["Ann"].enrichment["phone"]["screened_at"] is None

    rows = csv_rows(batch)
    cells = ("phone_type", "phone_tps", "tps_screened_at")
    assert [rows["John"][c] for c in cells] == ["mobile", "true", "2026-11-30T00:00:00Z"]
    assert [rows["Jane"][c] for c in cells] == ["fixed_line", "false", "2026-11-30T00:00:00Z"]
    assert [rows["Ann"][c] for c in cells][1:] == ["", ""]
    assert [rows["Cy"][c] for c in cells] == ["", "", ""]

    payload = Delivery.objects.get(lead=leads["John"]).payload
    assert payload["enrichment"]["phone"]["tps"] is True
    assert payload["enrichment"]["phone"]["screened_at"] == "2026-11-30T00:00:00Z"


def test_without_a_loaded_list_nothing_is_screened(make_upload):
    leads, batch = run(make_upload)

    assert leads["John"].enrichment["phone"]["tps"] is None
    assert csv_rows(batch)["John"]["phone_tps"] == ""


def test_tps_reject_makes_a_registered_lead_invalid_and_it_never_claims(
    make_upload, tmp_path, settings
):
    load_register(tmp_path)
    settings.TPS_REJECT = True
    leads, _ = run(make_upload, rows=ROWS[:2])

    assert (leads["John"].status, leads["John"].errors) == (LeadStatus.INVALID, ["phone_tps"])
    assert leads["Jane"].status == LeadStatus.VALID
    payload = Delivery.objects.get(lead=leads["John"]).payload
    assert payload["validation_errors"] == ["phone_tps"]
    assert "Telephone Preference Service" in payload["validation_messages"][0]

    settings.TPS_REJECT = False
    again, _ = run(make_upload, rows=ROWS[:2])
    assert again["John"].status == LeadStatus.VALID, "the rejected lead held no claim"
    assert again["Jane"].status == LeadStatus.DUPLICATE


def test_a_global_suppression_matches_every_customer(make_upload, tmp_path):
    customer_create(slug="acme", name="Acme")
    suppress(tmp_path, "JOHN@acme.co.uk\nsw1a 1aa\n")

    for customer in ("acme", None):
        owner = Customer.objects.get(slug=customer) if customer else None
        leads, _ = run(make_upload, customer=owner)
        for name in ("John", "Jane"):
            assert (leads[name].status, leads[name].errors) == (
                LeadStatus.INVALID,
                ["suppressed"],
            ), (customer, name)
        assert leads["Ann"].status != LeadStatus.INVALID


def test_a_suppressed_persons_values_never_reach_the_customer(make_upload, tmp_path):
    suppress(tmp_path, "jane@acme.co.uk\n")

    leads, _ = run(make_upload, rows=ROWS[:2])

    jane = Delivery.objects.get(lead=leads["Jane"]).payload
    assert (jane["validation_status"], jane["validation_errors"]) == ("invalid", ["suppressed"])
    personal = ("id", "first_name", "last_name", "dob", "email", "phone", "postcode", "enrichment")
    assert {key: jane[key] for key in personal} == dict.fromkeys(personal)
    assert jane["source"]["row"] == 3  # the supplier's row, to account for it
    john = Delivery.objects.get(lead=leads["John"]).payload
    assert (john["first_name"], john["email"]) == ("John", "john@acme.co.uk")
    assert leads["Jane"].email == "jane@acme.co.uk"  # the operator's own record keeps it


def test_a_customer_suppression_matches_only_that_customer(make_upload, tmp_path):
    acme = customer_create(slug="acme", name="Acme").customer
    other = customer_create(slug="other", name="Other").customer
    suppress(tmp_path, "phone\n+44 7911 123456\n", customer="acme")

    acme_leads, _ = run(make_upload, rows=ROWS[:1], customer=acme)
    other_leads, _ = run(make_upload, rows=ROWS[:1], customer=other)

    assert acme_leads["John"].errors == ["suppressed"]
    assert other_leads["John"].status == LeadStatus.VALID


def test_suppression_by_lead_id_adds_to_other_errors_and_never_claims(make_upload, tmp_path):
    suppress(tmp_path, "lead_id\njohn.smith.15031990\n")
    rows = [["John", "Smith", "15/03/1990", "not-an-email", "", ""]]

    leads, _ = run(make_upload, rows=rows)
    assert leads["John"].errors == ["email_invalid", "suppressed"]

    Suppression.objects.all().delete()
    again, _ = run(make_upload, rows=rows)
    assert again["John"].status == LeadStatus.INVALID
    assert again["John"].errors == ["email_invalid"], (
        "not a duplicate: the suppressed held no claim"
    )
