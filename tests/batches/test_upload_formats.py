""".xls and .ods uploads through the upload service and the admin's upload page."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import services
from batches.models import BatchFile, BatchJob
from leads.models import LeadValidation
from tests import hostile_files, workbook_files
from tests.conftest import upload

pytestmark = pytest.mark.django_db


def test_xls_and_ods_make_one_batch_whose_leads_carry_sheet_and_row():
    xls = workbook_files.xls(
        {"UK": [["First Name", "Surname", "DOB", "Source"], ["Ann", "Lee", "01/02/1990", "fair"]]}
    )
    ods = workbook_files.ods({"EU": [list(hostile_files.HEADER), ["Cleo", "Dupont", "04/05/1970"]]})

    batch = services.batch_create(
        files=[upload("crm.xls", xls), upload("crm.ods", ods)], queue=False
    )
    services.batch_split(batch_pk=batch.pk)

    assert list(BatchFile.objects.order_by("position").values_list("name", "kind")) == [
        ("crm.xls", "xls"),
        ("crm.ods", "ods"),
    ]
    leads = LeadValidation.objects.filter(batch=batch).order_by("seq")
    assert [(v.source_file, v.worksheet, v.row_number, v.first_name) for v in leads] == [
        ("crm.xls", "UK", 2, "Ann"),
        ("crm.ods", "EU", 2, "Cleo"),
    ]
    assert leads[0].raw["Source"] == "fair"


def test_html_export_named_xls_is_refused_before_anything_is_stored():
    page = b"<html><body><table><tr><td>first_name</td></tr></table></body></html>"

    with pytest.raises(services.BatchRefused) as refused:
        services.batch_create(files=[upload("export.xls", page)])

    assert refused.value.code == "malformed_file"
    assert "export.xls" in refused.value.message
    assert "HTML or CSV export" in refused.value.message
    assert not BatchJob.objects.exists()


@pytest.fixture
def uploader(client):
    user = User.objects.create_user("uploader", password="pw", is_staff=True)
    # Uploads go to `default` here: a user must see all customers (or belong to one) to upload.
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["upload_batch", "view_all_customers"])
    )
    client.force_login(user)
    return user


def test_admin_upload_previews_xls_and_ods_and_accepts_them(client, uploader):
    files = [
        SimpleUploadedFile("leads.xls", workbook_files.leads_xls(2)),
        SimpleUploadedFile("leads.ods", workbook_files.leads_ods(3)),
    ]

    page = client.post("/admin/batches/batchjob/add/", {"files": files}).content.decode()

    assert "Excel 97-2003 workbook (.xls)" in page
    assert "OpenDocument spreadsheet (.ods)" in page
    assert "Worksheet <strong>Leads</strong>: 3 rows" in page
    assert 'name="_confirm"' in page
    form = client.get("/admin/batches/batchjob/add/").content.decode()
    assert 'accept=".csv,.txt,.tsv,.xlsx,.xls,.ods"' in form


def test_api_upload_takes_an_xls(client):
    from tests.api.test_views import bearer, staff

    response = client.post(
        "/upload_batch",
        {"file": SimpleUploadedFile("leads.xls", workbook_files.leads_xls(4))},
        **bearer(staff("operator", "Operators")),
    )

    assert response.status_code == 201
    assert response.json()["total_leads"] == 4
    assert BatchFile.objects.get().kind == "xls"


def test_import_batch_reads_an_ods_inline(tmp_path):
    import io

    from django.core.management import call_command

    path = tmp_path / "leads.ods"
    path.write_bytes(workbook_files.leads_ods(2))

    call_command("import_batch", str(path), "--inline", stdout=io.StringIO())

    leads = LeadValidation.objects.order_by("seq")
    assert [(v.source_file, v.worksheet, v.first_name) for v in leads] == [
        ("leads.ods", "Leads", "Ann0"),
        ("leads.ods", "Leads", "Ann1"),
    ]
