"""The suppression upload on the admin's changelist: permissions, scope, history."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.services import customer_create
from screening.models import Suppression, TpsList
from tests.users import staff

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/screening/suppression/"
UPLOAD_URL = "/admin/screening/suppression/upload/"


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


@pytest.fixture
def other():
    return customer_create(slug="other", name="Other").customer


def suppression_file(text="jane@example.com\n07911 123456\nrubbish\n"):
    return SimpleUploadedFile("optout.csv", text.encode(), content_type="text/csv")


def scopes():
    return sorted(
        (s.customer.slug if s.customer else "*", s.kind) for s in Suppression.objects.all()
    )


def test_an_operator_uploads_for_every_customer_and_it_is_recorded(client):
    client.force_login(staff("op", "Operators"))
    page = client.get(LIST_URL).content.decode()
    assert 'id="suppression-upload"' in page

    answer = client.post(UPLOAD_URL, {"file": suppression_file()}, follow=True)

    assert scopes() == [("*", "email"), ("*", "phone")]
    text = answer.content.decode()
    assert "2 values added for every customer from optout.csv" in text
    assert "1 skipped: line 3: not an e-mail, phone, lead id or postcode" in text
    entry = LogEntry.objects.get(object_repr="suppressions from optout.csv")
    assert "2 values added" in entry.change_message
    assert "jane" not in entry.change_message


def test_an_operator_uploads_for_one_customer(client, acme):
    client.force_login(staff("op", "Operators"))
    client.post(UPLOAD_URL, {"file": suppression_file(), "customer": acme.pk})
    assert scopes() == [("acme", "email"), ("acme", "phone")]


def test_scoped_staff_upload_only_for_their_customer_and_see_only_theirs(client, acme, other):
    scoped = staff("scoped", "Customer operators")
    acme.members.add(scoped)
    client.force_login(scoped)

    for refused in ({}, {"customer": other.pk}):
        page = client.post(UPLOAD_URL, {"file": suppression_file(), **refused})
        assert page.status_code == 200 and "errorlist" in page.content.decode()
    assert not Suppression.objects.exists()

    client.post(UPLOAD_URL, {"file": suppression_file("jane@example.com\n"), "customer": acme.pk})
    Suppression.objects.create(customer=other, kind="email", value_hash="hmac:other")
    Suppression.objects.create(customer=None, kind="email", value_hash="hmac:global")

    page = client.get(LIST_URL).content.decode()
    assert f'<option value="{acme.pk}">acme</option>' in page, "the form offers theirs"
    assert "(every customer)" not in page
    assert ">other<" not in page, "neither the list, its filter nor the form names others"
    hidden = Suppression.objects.get(customer=other)
    assert client.get(f"{LIST_URL}{hidden.pk}/change/").status_code in (302, 404)


def test_viewers_see_the_list_but_cannot_upload(client):
    client.force_login(staff("viewer", "Viewers"))
    page = client.get(LIST_URL)
    assert page.status_code == 200
    assert 'id="suppression-upload"' not in page.content.decode()
    assert client.post(UPLOAD_URL, {"file": suppression_file()}).status_code == 403
    assert not Suppression.objects.exists()


def test_a_binary_file_is_refused_on_the_form(client):
    client.force_login(staff("op", "Operators"))
    page = client.post(UPLOAD_URL, {"file": suppression_file("a\x00b\n")})
    assert "not a text file" in page.content.decode()
    assert not Suppression.objects.exists()


def test_the_tps_lists_are_shown_read_only(client):
    TpsList.objects.create(source="tps.txt", file_date="2026-11-30T00:00:00Z", is_current=True)
    client.force_login(staff("op", "Operators"))
    page = client.get("/admin/screening/tpslist/").content.decode()
    assert "tps.txt" in page
    assert client.get("/admin/screening/tpslist/add/").status_code == 403


def test_a_value_is_looked_up_in_the_list_as_a_lead_would_carry_it(client, acme, other):
    client.force_login(staff("op", "Operators"))
    client.post(UPLOAD_URL, {"file": suppression_file("Jane@Example.com\n"), "customer": acme.pk})
    client.post(UPLOAD_URL, {"file": suppression_file("07911 123456\n"), "customer": other.pk})

    def found(term):
        page = client.get(LIST_URL, {"q": term})
        return page.context["cl"].result_list

    [email] = found("  jane@example.COM ")
    assert (email.kind, email.customer) == ("email", acme)
    [phone] = found("+44 7911 123456")
    assert (phone.kind, phone.customer) == ("phone", other)
    assert not found("jane@example.co.uk")
    assert not found("jane"), "only whole values: the list holds hashes"
    assert len(found("")) == 2
