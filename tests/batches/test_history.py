"""Exports of lead data and API uploads are recorded in the admin's history: who, what, rows."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from api.models import ApiToken
from batches import services
from batches.models import BatchJob
from batches.services.inline import batch_process_inline
from tests.users import staff

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\nX,Y,1/1/90\n"


def bearer(user: User) -> dict:
    _, plain = ApiToken.issue(name="script", user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


@pytest.fixture
def batch():
    created = services.batch_create(files=[SimpleUploadedFile("leads.csv", CSV)], queue=False)
    return batch_process_inline(batch=created)


def test_download_results_is_recorded(client, batch):
    viewer = staff("viewer", "Viewers")

    response = client.get(f"/download_results/{batch.batch_id}", **bearer(viewer))

    assert response.status_code == 200
    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id, entry.object_repr) == (
        viewer,
        str(batch.pk),
        batch.batch_id,
    )
    assert entry.change_message.startswith("Exported the results CSV: 3 rows (GET /download")


def test_api_upload_is_recorded(client):
    operator = staff("operator", "Operators")

    response = client.post(
        "/upload_batch", {"file": SimpleUploadedFile("leads.csv", CSV)}, **bearer(operator)
    )

    assert response.status_code == 201
    batch = BatchJob.objects.get()
    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id) == (operator, str(batch.pk))
    assert entry.change_message == "Uploaded through the API: 3 rows (POST /upload_batch)."


def test_refused_upload_records_nothing(client):
    operator = staff("operator", "Operators")

    client.post("/upload_batch", {"file": SimpleUploadedFile("x.csv", b"")}, **bearer(operator))

    assert not LogEntry.objects.exists()


def test_admin_export_records_each_batch_with_its_rows(client, batch):
    other = batch_process_inline(
        batch=services.batch_create(
            files=[SimpleUploadedFile("b.csv", CSV.rsplit(b"X,Y", 1)[0])], queue=False
        )
    )
    viewer = staff("viewer", "Viewers")
    client.force_login(viewer)

    response = client.post(
        "/admin/batches/batchjob/",
        {"action": "export_results", "_selected_action": [batch.pk, other.pk], "index": 0},
    )

    b"".join(response.streaming_content)
    entries = dict(LogEntry.objects.values_list("object_id", "change_message"))
    assert entries == {
        str(batch.pk): "Exported the results CSV: 3 rows (admin action).",
        str(other.pk): "Exported the results CSV: 2 rows (admin action).",
    }
    assert set(LogEntry.objects.values_list("user", flat=True)) == {viewer.pk}
