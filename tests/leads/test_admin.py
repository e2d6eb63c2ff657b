"""The leads list: the erase action (its permission, confirmation, report), audited export;
the read-only list of e-mail and phone claims."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import services
from batches.services.inline import batch_process_inline
from leads.hashing import lead_key_hash
from leads.models import LeadContactClaim, LeadValidation
from tests.users import staff
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import delivery_resend

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\n"
URL = "/admin/leads/leadvalidation/"


@pytest.fixture
def batch():
    created = services.batch_create(files=[SimpleUploadedFile("crm.csv", CSV)], queue=False)
    return batch_process_inline(batch=created)


def john() -> LeadValidation:
    return LeadValidation.objects.get(lead_id="john.smith.15031990")


def test_administrators_may_erase_and_operators_may_not(client, batch):
    client.force_login(staff("ops", "Operators"))
    assert 'value="erase_person"' not in client.get(URL).content.decode()

    client.force_login(staff("boss", "Administrators"))
    assert 'value="erase_person"' in client.get(URL).content.decode()


def test_erase_asks_for_confirmation_first(client, batch):
    client.force_login(staff("boss", "Administrators"))
    lead = john()

    page = client.post(URL, {"action": "erase_person", "_selected_action": [lead.pk]})

    assert page.status_code == 200
    assert "This cannot be undone" in page.content.decode()
    assert LeadValidation.objects.filter(pk=lead.pk, last_name="Smith").exists()


def test_erase_confirmed_blanks_the_person_and_reports_counts(client, batch):
    boss = staff("boss", "Administrators")
    client.force_login(boss)
    lead = john()

    response = client.post(
        URL,
        {"action": "erase_person", "_selected_action": [lead.pk], "post": "yes"},
        follow=True,
    )

    assert "Erased 1 person: 1 lead rows, 1 deliveries." in response.content.decode()
    lead.refresh_from_db()
    assert (lead.lead_id, lead.first_name, lead.last_name) == ("", "", "")
    entry = LogEntry.objects.get()
    assert entry.user == boss and lead_key_hash("john.smith.15031990") in entry.change_message
    assert "Smith" not in entry.change_message


def test_export_of_selected_leads_is_recorded_in_history(client, batch):
    viewer = staff("viewer", "Viewers")
    client.force_login(viewer)
    pks = list(LeadValidation.objects.values_list("pk", flat=True))

    response = client.post(URL, {"action": "export_csv", "_selected_action": pks, "index": 0})

    b"".join(response.streaming_content)
    entry = LogEntry.objects.get()
    assert entry.user == viewer
    assert entry.change_message == "Exported selected leads as CSV: 2 rows (admin action)."


def test_administrators_see_who_holds_an_email_and_cannot_change_it(client):
    LeadContactClaim.objects.create(scope="global", kind="email", value="ann@example.com")
    client.force_login(staff("boss", "Administrators"))

    listing = client.get("/admin/leads/leadcontactclaim/")

    assert listing.status_code == 200
    assert "ann@example.com" in listing.content.decode()
    assert client.get("/admin/leads/leadcontactclaim/add/").status_code == 403


def test_a_duplicate_of_an_invalid_lead_says_how_to_validate_it(client):
    def run(csv: bytes):
        batch = services.batch_create(files=[SimpleUploadedFile("crm.csv", csv)], queue=False)
        return batch_process_inline(batch=batch)

    header = b"first_name,last_name,dob,email\n"
    first = run(header + b"Sian,McDonald,29/02/1992,sian@example\n")
    again = run(header + b"Sian,McDonald,29/02/1992,sian@example.com\n")
    corrected = again.leads.get()
    client.force_login(staff("v", "Viewers"))

    page = client.get(f"{URL}{corrected.pk}/change/").content.decode()

    assert corrected.status == "duplicate"
    assert f"(batch {first.batch_id}, invalid there" in page
    assert "“Re-validate existing leads”" in page


def test_a_leads_page_lists_its_deliveries(client, batch):
    lead = john()
    delivery = Delivery.objects.get(lead=lead)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=3)
    resent = delivery_resend(delivery=delivery)
    client.force_login(staff("v", "Viewers"))

    page = client.get(f"{URL}{lead.pk}/change/").content.decode()

    listed = page.split("field-webhooks")[1]
    link = f'/admin/webhooks/delivery/{delivery.pk}/change/"><code>{delivery.msg_id}</code>'
    assert link in listed
    assert f"<code>{delivery.msg_id}</code></a> failed, 3 attempts, to " in listed
    assert f"<code>{resent.msg_id}</code></a> scheduled, 0 attempts (a re-send)" in listed


def test_a_leads_page_says_where_each_delivery_went_or_will_go(client, batch, settings):
    settings.WEBHOOK_URL = "https://hooks.example.com/in"
    lead = john()
    delivery = Delivery.objects.get(lead=lead)
    client.force_login(staff("v", "Viewers"))
    url = f"{URL}{lead.pk}/change/"

    unsent = client.get(url).content.decode().split("field-webhooks")[1]
    Delivery.objects.filter(pk=delivery.pk).update(endpoint="https://old.example.com/hook")
    sent = client.get(url).content.decode().split("field-webhooks")[1]

    assert "to https://hooks.example.com/in</li>" in unsent  # WEBHOOK_URL, as the claim takes
    assert "to https://old.example.com/hook</li>" in sent  # the URL it was sent to


def test_a_duplicates_page_says_it_gets_no_webhook(client, batch):
    again = services.batch_create(files=[SimpleUploadedFile("crm.csv", CSV)], queue=False)
    batch_process_inline(batch=again)
    duplicate = LeadValidation.objects.get(batch=again, lead_id="john.smith.15031990")
    client.force_login(staff("v", "Viewers"))

    page = client.get(f"{URL}{duplicate.pk}/change/").content.decode()

    assert "None: duplicates get no webhook" in page


def test_the_webhook_status_filter_reads_as_the_leads_webhook_status(client, batch):
    jane = LeadValidation.objects.get(lead_id="jane.doe.22081985")
    Delivery.objects.filter(lead=john()).update(status=DeliveryStatus.FAILED)
    Delivery.objects.filter(lead=jane).update(status=DeliveryStatus.FAILED)
    # John's failed delivery was re-sent and delivered: John needs nothing any more.
    resent = delivery_resend(delivery=Delivery.objects.get(lead=john()))
    Delivery.objects.filter(pk=resent.pk).update(status=DeliveryStatus.DELIVERED)
    client.force_login(staff("v", "Viewers"))

    def listed(status: str) -> set[str]:
        page = client.get(URL, {"webhook": status})
        return {lead.lead_id for lead in page.context["cl"].result_list}

    assert listed("failed") == {"jane.doe.22081985"}
    assert listed("delivered") == {"john.smith.15031990"}
    assert listed("scheduled") == set()
    assert client.get(URL, {"webhook": "nonsense"}).status_code == 200


def test_a_scoped_user_is_told_only_their_customers_copies_are_erased(client):
    from django.contrib.auth.models import Permission

    from customers.services import customer_create

    acme = customer_create(slug="acme", name="Acme").customer
    batch_process_inline(
        batch=services.batch_create(
            files=[SimpleUploadedFile("crm.csv", CSV)], queue=False, customer=acme
        )
    )
    member = staff("member", "Customer operators")
    member.user_permissions.add(Permission.objects.get(codename="erase_lead"))
    acme.members.add(member)
    client.force_login(member)
    lead = LeadValidation.objects.get(batch__customer=acme, lead_id="john.smith.15031990")
    chosen = {"action": "erase_person", "_selected_action": [lead.pk]}

    confirm = client.post(URL, chosen).content.decode()
    done = client.post(URL, {**chosen, "post": "yes"}, follow=True).content.decode()

    assert "in the batches of your customers" in confirm and "in every batch" not in confirm
    assert "Only your customers' copies are erased" in confirm
    assert "Only your customers&#x27; copies were erased" in done
