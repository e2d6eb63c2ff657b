"""The preview's editable mapping: choose each column's field, confirm, remember it."""

import io

import openpyxl
import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile

from batches.models import BatchJob, MappingProfile, PendingUpload
from batches.reading import FIELDS
from batches.services.inline import batch_process_inline
from tests.batches.test_messy_files import workbook
from tests.users import staff

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/batches/batchjob/add/"
MESSY = (
    b"Given Name,Family Name,Birthdate,Firm,Lead Src\n"
    b"John,Smith,15/03/1990,Acme Ltd,fair\n"
    b"Jane,Doe,22/08/1985,Globex,web\n"
)


@pytest.fixture
def operator(client, monkeypatch):
    monkeypatch.setattr("batches.services.upload.split_queue", lambda *, batch_pk: None)
    user = staff("operator", "Operators")
    client.force_login(user)
    return user


def upload(client, name="crm-export.csv", content=MESSY):
    return client.post(ADD_URL, {"files": [SimpleUploadedFile(name, content)]})


def confirm(client, preview, changes=None, **extra):
    """Post the preview's form as shown, with `changes` {header: choice} made to it."""
    data = {"token": PendingUpload.objects.get().token, "_confirm": "1", **extra}
    for file in preview.context["files"]:
        for sheet in file["sheets"]:
            data[f"sheet-{sheet['prefix']}"] = sheet["worksheet"]
            for column in sheet["columns"]:
                data[column["input"]] = (changes or {}).get(column["header"], column["choice"])
    return client.post(ADD_URL, data)


def selected(page: str, header: str) -> str:
    row = page.split(f'data-header="{header}"', 1)[1].split("</tr>", 1)[0]
    return row.split(" selected>", 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]


def test_preview_offers_every_field_keep_and_ignore_preselected_as_matched(client, operator):
    page = upload(client).content.decode()

    row = page.split('data-header="Firm"', 1)[1].split("</tr>", 1)[0]
    offered = [part.split('"', 1)[0] for part in row.split('<option value="')[1:]]
    assert offered == [*FIELDS, "keep", "ignore"]
    assert "keep as supplier column" in row
    assert selected(page, "Given Name") == "first_name"
    assert selected(page, "Firm") == "keep"


def test_a_remapped_column_feeds_its_field_and_an_ignored_one_goes_nowhere(client, operator):
    preview = upload(client)

    response = confirm(client, preview, {"Firm": "company", "Lead Src": "ignore"})

    assert response.status_code == 302
    batch = batch_process_inline(batch=BatchJob.objects.get())
    leads = list(batch.leads.order_by("seq"))
    assert [lead.company for lead in leads] == ["Acme Ltd", "Globex"]
    assert all("Lead Src" not in lead.raw and "Firm" not in lead.raw for lead in leads)
    (mapping,) = batch.files.get().column_mapping
    assert mapping["matched_by"]["company"] == "operator" and mapping["extra"] == {}


def test_confirm_as_shown_keeps_the_supplier_columns(client, operator):
    confirm(client, upload(client))

    batch = batch_process_inline(batch=BatchJob.objects.get())
    assert batch.leads.order_by("seq").first().raw["Lead Src"] == "fair"


def test_remembered_mapping_becomes_a_profile_that_preselects_the_next_upload(client, operator):
    confirm(
        client,
        upload(client),
        {"Firm": "company", "Lead Src": "ignore"},
        **{"remember-0-0": "on", "profile-0-0": "  CRM   export "},
    )

    profile = MappingProfile.objects.get()
    assert profile.name == "CRM export" and profile.created_by == operator
    assert profile.columns == ["first_name", "last_name", "dob", "company", "ignore"]
    assert BatchJob.objects.get().files.get().column_mapping[0]["profile"] == "CRM export"
    assert LogEntry.objects.get(content_type__model="mappingprofile").change_message.startswith(
        "Made in the upload preview of batch_"
    )

    page = upload(client, "crm-export-2.csv").content.decode()
    assert "Mapping profile «CRM export» applied." in page
    assert selected(page, "Firm") == "company"
    assert selected(page, "Lead Src") == "ignore"


def test_two_columns_for_one_field_are_refused_and_the_choices_shown_again(client, operator):
    preview = upload(client)

    response = confirm(client, preview, {"Firm": "company", "Lead Src": "company"})

    page = response.content.decode()
    assert response.status_code == 200
    assert (
        "Not confirmed: crm-export.csv, column &#x27;Lead Src&#x27;: columns &#x27;Firm&#x27; "
        "(D) and &#x27;Lead Src&#x27; (E) both feed company; choose one"
    ) in page
    assert selected(page, "Lead Src") == "company"  # the operator's choice, not the reader's
    assert not BatchJob.objects.exists() and PendingUpload.objects.exists()


def test_a_required_field_left_out_is_refused_with_the_readers_message(client, operator):
    response = confirm(client, upload(client), {"Birthdate": "ignore"})

    page = response.content.decode()
    assert "Not confirmed: crm-export.csv: missing required column dob; headers found:" in page
    assert not BatchJob.objects.exists()


@pytest.mark.parametrize(
    ("choice", "said"), [("ignore", "set to ignore"), ("keep", "kept as a supplier column")]
)
def test_a_refusal_says_the_near_miss_is_the_operators_choice(client, operator, choice, said):
    response = confirm(client, upload(client), {"Birthdate": choice})

    assert "dob: closest is &#x27;Birthdate&#x27; (" in response.content.decode()
    assert f"%, {said})" in response.content.decode()


def test_a_refusal_names_the_worksheet(client, operator):
    book = workbook({"Leads": [["first_name", "last_name", "dob"], ["A", "B", "01/01/1980"]]})
    preview = upload(client, "book.xlsx", book)

    page = confirm(client, preview, {"dob": "keep"}).content.decode()

    assert "book.xlsx: worksheet &#x27;Leads&#x27;: missing required column dob" in page


def test_a_value_that_is_no_choice_is_refused(client, operator):
    page = confirm(client, upload(client), {"Lead Src": "salary"}).content.decode()

    assert "&#x27;salary&#x27; is not a lead field; choose a field, keep or ignore" in page
    assert not BatchJob.objects.exists()


def test_remembering_needs_a_name(client, operator):
    response = confirm(client, upload(client), **{"remember-0-0": "on", "profile-0-0": " "})

    assert "crm-export.csv: give the mapping a name to remember it." in response.content.decode()
    assert not MappingProfile.objects.exists() and not BatchJob.objects.exists()


def test_uploader_without_the_profile_permission_cannot_remember(client, monkeypatch):
    monkeypatch.setattr("batches.services.upload.split_queue", lambda *, batch_pk: None)
    user = User.objects.create_user("uploader", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["upload_batch", "view_all_customers"])
    )
    client.force_login(user)
    preview = upload(client)
    assert "Remember this mapping" not in preview.content.decode()

    page = confirm(client, preview, **{"remember-0-0": "on", "profile-0-0": "x"}).content.decode()

    assert "You may not remember mapping profiles." in page
    assert not MappingProfile.objects.exists()


def test_choices_for_other_columns_show_the_preview_again(client, operator):
    preview = upload(client)
    data = {"token": PendingUpload.objects.get().token, "_confirm": "1", "sheet-0-0": ""}
    data.update({f"col-0-0-{i}": c for i, c in enumerate(["first_name", "last_name", "dob"])})

    response = client.post(ADD_URL, data)

    assert response.status_code == 200 and "Check the columns" in response.content.decode()
    assert not BatchJob.objects.exists()
    assert preview.status_code == 200


def test_remembering_a_changed_profile_replaces_it_and_is_recorded_as_a_change(client, operator):
    remember = {"remember-0-0": "on", "profile-0-0": "CRM export"}
    confirm(client, upload(client), {"Firm": "company"}, **remember)
    preview = upload(client)
    assert "(ticked, this changes the profile «CRM export»)" in preview.content.decode()

    confirm(client, preview, {"Lead Src": "ignore"}, **{**remember, "profile-0-0": "CRM v2"})

    profile = MappingProfile.objects.get()
    assert profile.name == "CRM v2" and profile.columns[3:] == ["company", "ignore"]
    entries = LogEntry.objects.filter(content_type__model="mappingprofile").order_by("pk")
    assert [(e.action_flag, e.change_message[:7]) for e in entries] == [
        (ADDITION, "Made in"),
        (CHANGE, "Changed"),
    ]


def test_preview_says_a_header_over_255_characters_was_cut(client, operator):
    long_header = "N" * 300
    content = f"first_name,last_name,dob,{long_header}\nJohn,Smith,15/03/1990,note\n".encode()

    page = upload(client, content=content).content.decode()

    assert "Note: The header of column D has 300 characters: cut to 255." in page
    assert f'data-header="{"N" * 255}"' in page


def test_preview_says_which_worksheets_the_workbook_hides(client, operator):
    book = openpyxl.Workbook()
    for title, state in (("Leads", "visible"), ("Old leads", "hidden")):
        sheet = book.create_sheet(title)
        sheet.sheet_state = state
        sheet.append(["first_name", "last_name", "dob"])
        sheet.append(["John", title.split()[0], "15/03/1990"])
    book.remove(book["Sheet"])
    out = io.BytesIO()
    book.save(out)

    page = upload(client, name="book.xlsx", content=out.getvalue()).content.decode()

    assert page.count("hidden in the workbook") == 1
    assert '<strong>Old leads</strong> <span class="hidden-sheet">(hidden in the workbook' in page
