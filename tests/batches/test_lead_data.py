"""The lead's data carried whole: full names, postcodes, consent, references and the
supplier's own columns, from the file to the lead row, the payload and the results CSV."""

import csv
import datetime
import hashlib
import io

import pytest

from batches import services
from batches.exports import iter_results_csv
from batches.services.inline import batch_process_inline
from leads.models import LeadStatus, LeadValidation
from tests.batches.test_messy_files import workbook
from tests.conftest import upload
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

CSV = (
    b"Full Name,DOB,Email,Mobile Phone,Account Name,Website URL,Post Code,Lead ID,"
    b"Opt-in Date,Opt-in URL,Consent Wording,Lead Src,,Lead Src,customer\n"
    b'"Smith, John",15/03/1990, John@Example.COM ,07400 123456,Acme Ltd,'
    b"https://www.acme.co.uk/about,sw1a1aa,CRM-1,02/07/2024 10:30,https://acme.co.uk/form,"
    b"I agree to be called,fair,x,web,other@example.com\n"
    b"Dr Mary-Jane van der Berg,22/08/1985,not-an-email,123,,,90210,,soon,,,,,,\n"
    b"SMITH Anna,01/01/1980,,,,,,,,,,,,,\n"
)


def run(content=CSV, name="crm.csv", **options):
    batch = services.batch_create(files=[upload(name, content)], queue=False, **options)
    return batch_process_inline(batch=batch)


def leads_of(batch):
    return list(LeadValidation.objects.filter(batch=batch).order_by("seq"))


def test_a_full_name_file_is_read_and_every_field_stored():
    batch = run()
    first, second, third = leads_of(batch)

    assert (first.first_name, first.last_name) == ("John", "Smith")
    assert (second.first_name, second.last_name) == ("Mary-Jane", "van der Berg")
    assert (third.first_name, third.last_name) == ("Anna", "Smith")
    assert first.status == LeadStatus.VALID and first.errors == []
    assert (first.website, first.postcode, first.reference) == ("acme.co.uk", "SW1A 1AA", "CRM-1")
    assert first.consent_at.isoformat() == "2024-07-02T09:30:00+00:00"  # 10:30 London, BST
    assert (first.consent_source, first.consent_text) == (
        "https://acme.co.uk/form",
        "I agree to be called",
    )
    assert first.extra == {
        "Lead Src": "fair",
        "column_M": "x",
        "Lead Src (2)": "web",
        "customer": "other@example.com",
    }
    assert second.status == LeadStatus.INVALID
    assert second.errors == [
        "email_invalid",
        "phone_invalid",
        "postcode_invalid",
        "consent_invalid",
    ]
    assert second.postcode == "90210" and second.consent_at is None and second.extra == {}
    assert third.status == LeadStatus.VALID


def test_the_payload_carries_the_whole_lead():
    batch = run()
    first, second, _ = leads_of(batch)

    payload = Delivery.objects.get(lead=first).payload
    assert payload["type"] == "lead.validated" and payload["customer"] == "default"
    assert payload["email"] == "john@example.com"
    assert payload["phone"] == "+447400123456"
    assert (payload["company"], payload["website"]) == ("Acme Ltd", "acme.co.uk")
    assert (payload["postcode"], payload["reference"]) == ("SW1A 1AA", "CRM-1")
    assert payload["source"] == {"file": "crm.csv", "worksheet": None, "row": 2}
    assert payload["extra"]["Lead Src (2)"] == "web"
    assert payload["consent"] == {
        "at": "2024-07-02T09:30:00Z",
        "source": "https://acme.co.uk/form",
        "text": "I agree to be called",
        "text_sha256": hashlib.sha256(b"I agree to be called").hexdigest(),
    }

    invalid = Delivery.objects.get(lead=second).payload
    assert invalid["email"] == "not-an-email" and invalid["phone"] == "123"
    assert invalid["postcode"] == "90210"
    for key in ("company", "website", "reference", "extra", "consent"):
        assert invalid[key] is None, key


def test_the_results_csv_fills_the_lead_data_columns():
    batch = run()

    rows = list(csv.DictReader(io.StringIO("".join(iter_results_csv(leads_of_qs(batch))))))

    first = rows[0]
    assert (first["reference"], first["postcode"], first["website"]) == (
        "CRM-1",
        "SW1A 1AA",
        "acme.co.uk",
    )
    assert first["consent_at"] == "2024-07-02T09:30:00Z"
    assert first["consent_source"] == "https://acme.co.uk/form"
    assert first["customer (file)"] == "other@example.com"
    assert (first["Lead Src"], first["Lead Src (2)"], first["column_M"]) == ("fair", "web", "x")


def leads_of_qs(batch):
    return LeadValidation.objects.filter(batch=batch)


def test_a_full_name_beside_first_and_last_names_is_a_supplier_column():
    content = b"First Name,Last Name,Name,DOB\nJohn,Smith,Johnny S,15/03/1990\n"

    (lead,) = leads_of(run(content))

    assert (lead.first_name, lead.last_name) == ("John", "Smith")
    assert lead.extra == {"Name": "Johnny S"}


def test_a_supplier_column_headed_like_a_field_is_never_read_as_that_field():
    from standardiser.prompt import row_cells

    content = b"first_name,last_name,dob,full_name\n,HOLMES Sherl,15/03/1990,Private Other Person\n"

    (lead,) = leads_of(run(content))

    assert lead.extra == {"full_name": "Private Other Person"}  # carried to the customer
    assert "full_name" not in lead.raw
    assert row_cells(lead.raw) == {"last_name": "HOLMES Sherl", "dob": "15/03/1990"}


def test_consent_required_makes_a_lead_without_consent_invalid(settings):
    settings.CONSENT_REQUIRED = True

    first, second, third = leads_of(run())

    assert first.status == LeadStatus.VALID
    assert "consent_missing" in second.errors and third.errors == ["consent_missing"]


def test_a_consent_later_than_the_upload_is_in_the_future():
    content = b"first_name,last_name,dob,consent date\nJo,Li,01/01/1990,2999-01-01T00:00:00Z\n"

    (lead,) = leads_of(run(content))

    assert lead.errors == ["consent_in_future"]


def test_a_consent_date_no_moment_can_have_makes_its_row_invalid_not_the_batch_failed():
    content = (
        b"first_name,last_name,dob,consent date\n"
        b"Jo,Li,01/01/1990,0001-01-01T00:30:00+01:00\n"
        b"Al,Ng,01/01/1990,01/01/1900 00:00\n"
        b"Mo,Fa,01/01/1990,02/07/2024 10:30\n"
    )

    batch = run(content)
    first, second, third = leads_of(batch)

    assert batch.status == "completed"
    assert first.errors == second.errors == ["consent_invalid"]
    assert third.status == LeadStatus.VALID


def test_erasure_blanks_the_new_fields_the_supplier_columns_and_consent():
    from django.contrib.auth.models import User

    from tests.batches.test_erasure import database_text

    run()
    dpo = User.objects.create_user("dpo", password="pw", is_staff=True)

    services.person_erase(user=dpo, lead_id="john.smith.15031990")

    text = database_text()
    for value in (
        "CRM-1",
        "SW1A 1AA",
        "acme.co.uk",
        "I agree",
        "acme.co.uk/form",
        "fair",
        "2024-07",
    ):
        assert value not in text, value
    lead = LeadValidation.objects.get(seq=1)
    assert lead.extra == {} and lead.consent_at is None
    assert Delivery.objects.get(lead=lead).payload["consent"] is None
    assert "Mary-Jane" in text  # the others stay


def test_the_admin_shows_the_new_fields_and_finds_a_lead_by_reference(client):
    from tests.users import staff

    first, *_ = leads_of(run())
    client.force_login(staff("ops", "Operators"))

    found = client.get("/admin/leads/leadvalidation/", {"q": "CRM-1"}).content.decode()
    page = client.get(f"/admin/leads/leadvalidation/{first.pk}/change/").content.decode()

    assert f"/admin/leads/leadvalidation/{first.pk}/change/" in found
    for shown in ("SW1A 1AA", "CRM-1", "acme.co.uk", "I agree to be called", "Lead Src (2)"):
        assert shown in page, shown


def test_a_consent_time_in_a_workbook_cell_is_local_time_as_in_a_csv():
    born = datetime.date(1990, 3, 15)
    book = workbook(
        {
            "Leads": [
                ["First Name", "Last Name", "DOB", "Consent Date"],
                ["Ann", "Lee", born, datetime.datetime(2026, 7, 5, 14, 30)],
                ["Bo", "Li", born, datetime.datetime(2026, 1, 5, 14, 30)],
            ]
        }
    )
    text = b"first_name,last_name,dob,consent date\nCy,Poe,15/03/1990,05/07/2026 14:30\n"

    from_book = leads_of(run(book, name="leads.xlsx"))
    from_csv = leads_of(run(text))

    # London is an hour ahead of UTC in July (BST), level with it in January.
    assert from_book[0].consent_at.isoformat() == "2026-07-05T13:30:00+00:00"
    assert from_book[1].consent_at.isoformat() == "2026-01-05T14:30:00+00:00"
    assert from_csv[0].consent_at == from_book[0].consent_at
