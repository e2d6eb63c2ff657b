"""Mapping profiles per customer: a customer's own profile wins over a shared one, profiles
remembered by staff scoped to customers belong to the upload's customer, and the admin lets
them change only their customers' profiles."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from batches.models import MappingProfile, PendingUpload
from batches.services.mapping import mapping_profile_remember
from batches.services.upload import BatchRefused, batch_inspect
from customers.services import customer_create
from tests.users import staff

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/batches/batchjob/add/"
PROFILES = "/admin/batches/mappingprofile/"
HEADERS = ["Given Name", "Family Name", "Birthdate", "Firm", "Lead Src"]
AS_COMPANY = ["first_name", "last_name", "dob", "company", "ignore"]
KEPT = ["first_name", "last_name", "dob", "keep", "keep"]
CSV = (",".join(HEADERS) + "\nJohn,Smith,15/03/1990,Acme Ltd,fair\n").encode()


@pytest.fixture
def acme():
    return customer_create(slug="acme", name="Acme").customer


@pytest.fixture
def other():
    return customer_create(slug="other", name="Other").customer


@pytest.fixture
def all_staff():
    return staff("all", "Operators")


@pytest.fixture
def member(acme):
    user = staff("member", "Customer operators")
    acme.members.add(user)
    return user


def _remember(user, columns, name, customer=None):
    return mapping_profile_remember(
        headers=HEADERS,
        columns=columns,
        name=name,
        user=user,
        customer_pk=customer.pk if customer else None,
    )[0]


def _profile_used(customer) -> str | None:
    [summary] = batch_inspect(files=[SimpleUploadedFile("crm.csv", CSV)], customer=customer)
    return summary.mappings[0].profile


def test_an_upload_uses_its_customers_own_profile_before_a_shared_one(all_staff, acme, other):
    _remember(all_staff, KEPT, "shared")
    own = MappingProfile.objects.create(
        customer=acme,
        name="acme's",
        header_key=MappingProfile.objects.get().header_key,
        header_row=MappingProfile.objects.get().header_row,
        headers=HEADERS,
        columns=AS_COMPANY,
    )

    assert _profile_used(acme) == "acme's"
    assert _profile_used(other) == "shared"
    assert _profile_used(None) == "shared"  # the default customer's upload
    own.delete()
    assert _profile_used(acme) == "shared"


def test_one_profile_per_customer_and_header_row_and_one_shared(all_staff, acme):
    shared = _remember(all_staff, KEPT, "shared")
    fields = {f: getattr(shared, f) for f in ("header_key", "header_row", "headers", "columns")}

    MappingProfile.objects.create(customer=acme, name="acme's", **fields)
    for customer in (acme, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            MappingProfile.objects.create(customer=customer, name="twin", **fields)


def test_scoped_staff_remember_for_their_customer_leaving_the_shared_one(all_staff, member, acme):
    shared = _remember(all_staff, KEPT, "shared")

    mine = _remember(member, AS_COMPANY, "acme CRM", customer=acme)

    assert mine.pk != shared.pk and mine.customer == acme
    shared.refresh_from_db()
    assert (shared.name, shared.columns, shared.customer) == ("shared", KEPT, None)
    assert _remember(member, KEPT, "acme v2", customer=acme).pk == mine.pk  # then replaced


def test_staff_seeing_every_customer_change_the_profile_that_applied(all_staff, acme, other):
    shared = _remember(all_staff, KEPT, "shared")
    assert _remember(all_staff, AS_COMPANY, "shared v2", customer=other).pk == shared.pk
    own = MappingProfile.objects.create(
        customer=acme,
        name="acme's",
        header_key=shared.header_key,
        header_row=shared.header_row,
        headers=HEADERS,
        columns=KEPT,
    )

    assert _remember(all_staff, AS_COMPANY, "acme v2", customer=acme).pk == own.pk
    assert MappingProfile.objects.get(customer=None).name == "shared v2"


def test_preview_remembers_a_scoped_users_profile_for_their_customer(
    client, member, acme, other, monkeypatch
):
    monkeypatch.setattr("batches.services.upload.split_queue", lambda *, batch_pk: None)
    client.force_login(member)
    preview = client.post(ADD_URL, {"files": [SimpleUploadedFile("crm.csv", CSV)]})
    data = {"token": PendingUpload.objects.get().token, "_confirm": "1"}
    data |= {"remember-0-0": "on", "profile-0-0": "acme CRM"}
    for file in preview.context["files"]:
        for sheet in file["sheets"]:
            data[f"sheet-{sheet['prefix']}"] = sheet["worksheet"]
            for column in sheet["columns"]:
                data[column["input"]] = column["choice"]

    assert client.post(ADD_URL, data).status_code == 302

    profile = MappingProfile.objects.get()
    assert (profile.name, profile.customer) == ("acme CRM", acme)
    assert _profile_used(acme) == "acme CRM"
    assert not _profile_used(other)  # acme's own is not for other customers


def test_admin_scoped_staff_change_only_their_customers_profiles(
    client, all_staff, member, acme, other
):
    shared = _remember(all_staff, KEPT, "shared")
    mine = _remember(member, AS_COMPANY, "acme CRM", customer=acme)
    theirs = _remember(staff("o", "Customer operators"), AS_COMPANY, "other CRM", customer=other)
    client.force_login(member)

    listing = client.get(PROFILES).content.decode()
    assert "acme CRM" in listing and "shared" in listing and "other CRM" not in listing
    assert "every customer" in listing
    assert client.get(f"{PROFILES}{theirs.pk}/change/").status_code in (302, 404)

    client.post(f"{PROFILES}{shared.pk}/change/", {"name": "hijacked"})
    client.post(
        PROFILES, {"action": "delete_selected", "_selected_action": [shared.pk], "post": "yes"}
    )
    shared.refresh_from_db()
    assert shared.name == "shared"

    response = client.post(f"{PROFILES}{mine.pk}/change/", {"name": "acme CRM v2"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.name == "acme CRM v2"


def test_columns_that_look_like_one_field_are_refused_unless_a_profile_chose(all_staff):
    headers = ["first_name", "last_name", "dob", "Phone", "Mobile"]
    data = (",".join(headers) + "\nJohn,Smith,15/03/1990,020 7946 0000,07911 123456\n").encode()

    def inspect(**options):
        return batch_inspect(files=[SimpleUploadedFile("crm.csv", data)], **options)

    with pytest.raises(BatchRefused) as refused:
        inspect()  # the API's and the command's way: no one to choose
    assert refused.value.code == "missing_columns"
    assert "'Phone' and 'Mobile' both look like phone" in refused.value.message
    [shown] = inspect(preview=True)  # the admin's: the operator chooses in the preview
    assert shown.mappings[0].fields["phone"] == 3 and shown.mappings[0].extra == {4: "Mobile"}

    mapping_profile_remember(
        headers=headers,
        columns=["first_name", "last_name", "dob", "keep", "phone"],
        name="two phones",
        user=all_staff,
        customer_pk=None,
    )
    [summary] = inspect()
    mapping = summary.mappings[0]
    assert (mapping.profile, mapping.fields["phone"], mapping.ambiguous) == ("two phones", 4, ())


def test_preview_says_whose_files_a_remembered_mapping_is_for(client, all_staff, member, acme):
    def offered(user, **form):
        client.force_login(user)
        page = client.post(ADD_URL, {"files": [SimpleUploadedFile("crm.csv", CSV)], **form})
        [sheet] = page.context["files"][0]["sheets"]
        return sheet["remember_for"], page.content.decode()

    assert offered(member) == ("acme", mock.ANY)
    assert "Remember this mapping for acme's files" in offered(member)[1]
    # Staff who see every customer change the shared profile, until the customer has its own.
    assert offered(all_staff, customer=acme.slug)[0] is None
    assert "for every customer's files" in offered(all_staff, customer=acme.slug)[1]
    _remember(member, KEPT, "acme CRM", customer=acme)
    assert offered(all_staff, customer=acme.slug)[0] == "acme"
