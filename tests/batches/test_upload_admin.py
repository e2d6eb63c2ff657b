"""The admin's two-step upload (preview of the column mapping, then confirm) and header aliases."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from batches.models import BatchJob, HeaderAlias, PendingUpload
from batches.reading import normalise_header
from batches.selectors import header_aliases
from batches.services.inline import batch_process_inline
from batches.services.pending import pending_uploads_purge
from tests.batches.test_messy_files import workbook

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/batches/batchjob/add/"
CSV = (
    b"Forename,Surname,Birthday,E-mail Address,Tel,Notes\n"
    b"John,Smith,15/03/1990,john@example.com,07911 123456,met at fair\n"
    b"Jane,Doe,22/08/1985,,,\n"
)


@pytest.fixture
def uploader(client):
    user = User.objects.create_user("uploader", password="pw", is_staff=True)
    # Uploads go to `default` here: a user must see all customers (or belong to one) to upload.
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["upload_batch", "view_all_customers"])
    )
    client.force_login(user)
    return user


def post_files(client, *files, **options):
    return client.post(ADD_URL, {"files": list(files), **options})


def csv_upload(name="crm.csv", content=CSV):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def pending_files() -> list[str]:
    try:
        directories, _ = default_storage.listdir("pending")
    except FileNotFoundError:
        return []
    return [
        f"pending/{d}/{name}"
        for d in directories
        for name in default_storage.listdir(f"pending/{d}")[1]
    ]


def test_upload_shows_the_mapping_and_creates_nothing_yet(client, uploader):
    response = post_files(client, csv_upload())

    assert response.status_code == 200
    page = response.content.decode()
    assert "Check the columns" in page and 'name="_confirm"' in page
    for header, field in [
        ("Forename", "first_name"),
        ("Surname", "last_name"),
        ("Birthday", "dob"),
        ("E-mail Address", "email"),
        ("Tel", "phone"),
    ]:
        assert f'data-header="{header}" data-field="{field}"' in page
    assert page.count("<td>alias</td>") == 5
    assert 'data-header="Notes" data-field=""' in page and "kept as supplier column" in page
    assert 'id="preview-total">2<' in page
    assert "crm.csv — CSV, utf-8, comma-separated, 2 rows" in page
    assert "company, website" in page  # the optional fields this file lacks
    assert not BatchJob.objects.exists()
    assert PendingUpload.objects.get().created_by == uploader
    assert len(pending_files()) == 1


def test_preview_lists_every_worksheet_with_its_rows_and_fuzzy_scores(client, uploader):
    book = workbook(
        {
            "UK": [["Frist Name", "Last Name", "DOB"], ["Ann", "Lee", "01/02/1990"]],
            "Empty": [],
            "Read me": [["Fill one lead per row"]],
            "EU": [["first_name", "last_name", "dob"], ["A", "B", "01/01/1980"], ["C", "D", "x"]],
        }
    )

    page = post_files(client, SimpleUploadedFile("book.xlsx", book)).content.decode()

    assert 'data-worksheet="UK"' in page and 'data-worksheet="EU"' in page
    assert 'data-worksheet="Empty"' not in page
    assert "Worksheet <strong>EU</strong>: 2 rows" in page
    assert "fuzzy match, 89% similar" in page
    assert "Not read: worksheet «Read me». None of the first 10 rows holding anything" in page
    assert "If it holds leads, give it a header row" in page


def test_confirm_creates_the_batch_and_removes_the_pending_files(
    client, uploader, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "batches.services.upload.split_queue", lambda *, batch_pk: queued.append(batch_pk)
    )
    post_files(client, csv_upload(), webhook_url="https://hooks.example.com/leads")
    pending = PendingUpload.objects.get()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(ADD_URL, {"token": pending.token, "_confirm": "1"})

    batch = BatchJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"/admin/batches/batchjob/{batch.pk}/change/"
    assert (batch.total_leads, batch.created_by, batch.webhook_url) == (
        2,
        uploader,
        "https://hooks.example.com/leads",
    )
    assert batch.files.get().name == "crm.csv"
    assert default_storage.exists(batch.files.get().file.name)
    assert not PendingUpload.objects.exists()
    assert pending_files() == []
    assert len(callbacks) == 2, "the split is queued and the pending files deleted on commit"
    assert queued == [batch.pk]
    assert LogEntry.objects.get(object_id=str(batch.pk)).action_flag == ADDITION


@pytest.mark.parametrize(
    ("webhook_url", "reason"),
    [
        ("http://hooks.example.com/leads", "webhook_url must be an https URL."),
        (
            "https://hooks.example.com/" + "a" * 480,
            "webhook_url must be at most 500 characters (it has 506).",
        ),
    ],
)
def test_refused_webhook_url_is_shown_on_the_form(client, uploader, settings, webhook_url, reason):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = post_files(client, csv_upload(), webhook_url=webhook_url)

    assert response.status_code == 200
    assert response.context["form"].errors == {"webhook_url": [reason]}
    assert not PendingUpload.objects.exists()


def test_webhook_url_without_a_scheme_is_taken_as_https(client, uploader):
    post_files(client, csv_upload(), webhook_url="hooks.example.com/leads")
    assert PendingUpload.objects.get().webhook_url == "https://hooks.example.com/leads"


def test_confirming_twice_makes_one_batch(client, uploader):
    post_files(client, csv_upload())
    token = PendingUpload.objects.get().token

    client.post(ADD_URL, {"token": token, "_confirm": "1"})
    again = client.post(ADD_URL, {"token": token, "_confirm": "1"}, follow=True)

    assert BatchJob.objects.count() == 1
    assert "already confirmed or cancelled, or it expired" in again.content.decode()


def test_cancel_deletes_the_pending_files(client, uploader):
    post_files(client, csv_upload())
    token = PendingUpload.objects.get().token

    response = client.post(ADD_URL, {"token": token, "_cancel": "1"})

    assert response.status_code == 302 and response.url == ADD_URL
    assert not PendingUpload.objects.exists() and pending_files() == []
    assert not BatchJob.objects.exists()


def test_someone_elses_upload_cannot_be_confirmed(client, uploader):
    post_files(client, csv_upload())
    token = PendingUpload.objects.get().token
    other = User.objects.create_user("other", is_staff=True)
    other.user_permissions.add(Permission.objects.get(codename="upload_batch"))
    client.force_login(other)

    client.post(ADD_URL, {"token": token, "_confirm": "1"})

    assert not BatchJob.objects.exists()
    assert PendingUpload.objects.filter(token=token).exists()


def test_refused_upload_shows_the_headers_found_and_closest_matches(client, uploader):
    bad = csv_upload("bad.csv", b"First Name,Surname,Birth\nJohn,Smith,15/03/1990\n")

    response = post_files(client, bad)

    page = response.content.decode()
    assert response.status_code == 200 and "Upload batch" in page
    assert "missing required column dob" in page
    assert "headers found: &#x27;First Name&#x27;, &#x27;Surname&#x27;, &#x27;Birth&#x27;" in page
    assert "dob: closest is &#x27;Birth&#x27;" in page
    assert not PendingUpload.objects.exists() and pending_files() == []


def test_an_empty_file_is_refused_by_name_beside_a_good_one(client, uploader):
    empty = csv_upload("23_empty.csv", b"")

    page = post_files(client, csv_upload(), empty).content.decode()

    assert "23_empty.csv" in page and "the file is empty (0 bytes)" in page
    assert "The submitted file is empty" not in page
    assert not PendingUpload.objects.exists() and pending_files() == []


def test_two_columns_for_one_field_reach_the_preview_where_the_operator_chooses(client, uploader):
    both = csv_upload(
        "both.csv",
        b"first_name,last_name,dob,Phone,Mobile\nJohn,Smith,15/03/1990,020 7946 0000,"
        b"07911 123456\n",
    )

    page = post_files(client, both).content.decode()

    assert "&#x27;Phone&#x27; and &#x27;Mobile&#x27; both look like phone" in page
    assert "the first of them goes there for now" in page
    pending = PendingUpload.objects.get()
    # The operator makes Mobile the phone and keeps Phone as the supplier's own column.
    choices = {"sheet-0-0": "", **{f"col-0-0-{i}": c for i, c in enumerate(
        ["first_name", "last_name", "dob", "keep", "phone"]
    )}}  # fmt: skip
    client.post(ADD_URL, {"token": pending.token, "_confirm": "1", **choices})

    lead = batch_process_inline(batch=BatchJob.objects.get()).leads.get()
    assert lead.phone == "+447911123456" and lead.raw["Phone"] == "020 7946 0000"


def test_two_columns_for_one_field_left_as_shown_send_the_first(client, uploader):
    both = csv_upload("both.csv", b"Email,E-mail Address,first_name,last_name,dob\na,b,A,B,C\n")
    post_files(client, both)
    pending = PendingUpload.objects.get()

    client.post(ADD_URL, {"token": pending.token, "_confirm": "1"})

    lead = batch_process_inline(batch=BatchJob.objects.get()).leads.get()
    assert lead.email == "a" and lead.raw["E-mail Address"] == "b"


def test_viewer_without_upload_permission_cannot_post(client):
    viewer = User.objects.create_user("viewer", is_staff=True)
    client.force_login(viewer)

    assert post_files(client, csv_upload()).status_code == 403
    assert client.post(ADD_URL, {"token": "x", "_confirm": "1"}).status_code == 403
    assert not PendingUpload.objects.exists()


# --- header aliases ----------------------------------------------------------------------------


def test_aliases_are_seeded_from_the_design_and_merged_with_field_names():
    aliases = header_aliases()
    keys = {name: {normalise_header(alias) for alias in names} for name, names in aliases.items()}

    assert aliases["first_name"][0] == "first_name"
    for field_name, names in {
        "first_name": ["First Name", "Firstname", "Forename", "Given Name", "fname"],
        "last_name": ["Last Name", "Surname", "Family Name", "lname"],
        "dob": ["Date of Birth", "DOB", "Birth Date", "Birthday"],
        "email": ["E-mail", "Email Address", "E-mail Address"],
        "phone": ["Phone Number", "Mobile", "Telephone", "Tel"],
        "company": ["Company Name", "Organisation", "Organization"],
    }.items():
        assert {normalise_header(name) for name in names} <= keys[field_name]


def test_alias_added_in_the_admin_is_used_by_the_next_upload(client, uploader, admin_client):
    german = b"Vorname,Nachname,Geburtsdatum\nJohn,Smith,15/03/1990\n"
    refused = post_files(client, csv_upload("de.csv", german)).content.decode()
    assert "missing required columns" in refused

    for field_name, alias in [
        ("first_name", "Vorname"),
        ("last_name", "Nachname"),
        ("dob", "Geburtsdatum"),
    ]:
        response = admin_client.post(
            "/admin/batches/headeralias/add/", {"field": field_name, "alias": alias}
        )
        assert response.status_code == 302

    page = post_files(client, csv_upload("de.csv", german)).content.decode()
    assert 'data-header="Nachname" data-field="last_name"' in page
    assert HeaderAlias.objects.get(alias="Geburtsdatum").key == "geburtsdatum"


@pytest.mark.parametrize(
    ("field_name", "alias", "error"),
    [
        ("company", "MOBILE", "reads the same as the alias &#x27;Mobile&#x27; of phone"),
        ("phone", "E-mail", "is the name of the field email"),
        ("company", "  --  ", "needs at least one letter or digit"),
    ],
)
def test_alias_that_would_make_headers_ambiguous_is_refused(admin_client, field_name, alias, error):
    before = HeaderAlias.objects.count()

    response = admin_client.post(
        "/admin/batches/headeralias/add/", {"field": field_name, "alias": alias}
    )

    assert response.status_code == 200 and error in response.content.decode()
    assert HeaderAlias.objects.count() == before


def test_aliases_changed_between_preview_and_confirm_show_the_preview_again(client, uploader):
    post_files(client, csv_upload())
    token = PendingUpload.objects.get().token
    HeaderAlias.objects.filter(alias="Tel").delete()

    response = client.post(ADD_URL, {"token": token, "_confirm": "1"})

    page = response.content.decode()
    assert response.status_code == 200 and "header aliases changed since this preview" in page
    assert 'data-header="Tel" data-field=""' in page
    assert not BatchJob.objects.exists()
    client.post(ADD_URL, {"token": token, "_confirm": "1"})
    assert BatchJob.objects.get().files.get().column_mapping[0]["extra"] == {
        "4": "Tel",
        "5": "Notes",
    }


def test_alias_written_around_the_model_cannot_break_uploads():
    HeaderAlias.objects.bulk_create([HeaderAlias(field="phone", alias="Surname", key="x")])

    assert "Surname" not in header_aliases()["phone"]
    assert "Surname" in header_aliases()["last_name"]


def test_files_refused_at_confirmation_are_discarded(client, uploader, settings):
    post_files(client, csv_upload())
    token = PendingUpload.objects.get().token
    settings.MAX_LEADS_PER_BATCH = 1

    page = client.post(ADD_URL, {"token": token, "_confirm": "1"}, follow=True).content.decode()

    assert "Upload refused: crm.csv: the upload has more than 1 leads" in page
    assert not BatchJob.objects.exists()
    assert not PendingUpload.objects.exists() and pending_files() == []


def test_an_upload_confirmed_after_leaving_its_customer_is_refused(client, uploader):
    from customers.services import customer_create

    acme = customer_create(slug="acme", name="Acme").customer
    uploader.user_permissions.remove(Permission.objects.get(codename="view_all_customers"))
    acme.members.add(uploader)
    post_files(client, csv_upload(), customer="acme")
    token = PendingUpload.objects.get().token

    acme.members.remove(uploader)
    page = client.post(ADD_URL, {"token": token, "_confirm": "1"}, follow=True).content.decode()

    assert "You no longer act for this upload&#x27;s customer" in page
    assert not BatchJob.objects.exists()
    assert not PendingUpload.objects.exists() and pending_files() == []


# --- abandoned uploads -------------------------------------------------------------------------


def test_purge_removes_abandoned_uploads_and_stray_files(client, uploader):
    post_files(client, csv_upload())
    post_files(client, csv_upload())
    old, fresh = PendingUpload.objects.order_by("pk")
    PendingUpload.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    stray = default_storage.save("pending/1000000000-deadbeef/0.upload", ContentFile(b"x"))

    assert pending_uploads_purge() == 2

    assert list(PendingUpload.objects.all()) == [fresh]
    assert pending_files() == [item["path"] for item in fresh.files]
    assert not default_storage.exists(stray)


def test_expired_upload_cannot_be_confirmed(client, uploader):
    post_files(client, csv_upload())
    PendingUpload.objects.update(created_at=timezone.now() - timedelta(days=1))

    client.post(ADD_URL, {"token": PendingUpload.objects.get().token, "_confirm": "1"})

    assert not BatchJob.objects.exists()


def test_purge_runs_periodically():
    assert PeriodicTask.objects.filter(task="batches.purge_pending_uploads").exists()


@pytest.mark.parametrize(
    "content",
    [
        "Full Name,DOB,Email\nAnn Lee,01/02/1990,ann@example.com\n",
        "First Name,Surname,DOB,Email\nAnn,Lee,01/02/1990,ann@example.com\n",
    ],
)
def test_preview_lists_as_absent_only_the_fields_a_column_could_still_feed(
    client, uploader, content
):
    page = post_files(client, SimpleUploadedFile("leads.csv", content.encode()))

    [sheet] = page.context["files"][0]["sheets"]
    assert "phone" in sheet["absent"] and "email" not in sheet["absent"]
    assert not {"first_name", "last_name", "full_name"} & set(sheet["absent"])
