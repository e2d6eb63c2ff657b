"""Requests no view can take are refused with 400 in the API's error shape, never a 500.

PostgreSQL cannot hold a NUL character in text: a lookup with one failed there with a 500
(SQLite answered 404), so these assert the refusal on both databases.
"""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from batches.models import BatchJob
from tests.api.test_views import CSV, bearer, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def token():
    return bearer(staff("operator", "Operators"))


def refused(response, *words: str) -> None:
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request"
    for word in words:
        assert word in body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/batch_status/batch_%00",
        "/webhook_status/batch_%00",
        "/download_results/batch_%00",
        "/api/batches/batch_%00/leads",
        "/api/batches/batch_1/leads?status=%00",
        "/api/batches/batch_1/leads?cursor=a%00",
    ],
)
def test_a_nul_character_in_the_url_is_refused(client, token, path):
    refused(client.get(path, **token), "NUL character (%00)")


@pytest.mark.parametrize("query", ["status=%00", "status=%00&status=valid", "status=valid&q=%00"])
def test_a_nul_character_in_an_admin_filter_is_refused(client, query):
    client.force_login(User.objects.create_superuser("root", password="pw-123456789"))

    response = client.get(f"/admin/leads/leadvalidation/?{query}")

    refused(response, "query string")


def test_an_anonymous_upload_is_refused_before_its_body_is_read(client, monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("the body was parsed before the caller was known")

    monkeypatch.setattr("django.http.request.HttpRequest._load_post_and_files", parse)

    response = client.post("/upload_batch", {"file": SimpleUploadedFile("leads.csv", CSV)})

    assert response.status_code == 401


def test_a_nul_character_in_a_form_field_is_refused_before_anything_is_stored(client, token):
    response = client.post(
        "/upload_batch",
        {"file": SimpleUploadedFile("leads.csv", CSV), "customer": "acme\x00"},
        **token,
    )

    refused(response, "form", "'customer'")
    assert not BatchJob.objects.exists()


def test_a_multipart_body_without_a_boundary_is_refused_as_json(client, token):
    response = client.generic(
        "POST", "/upload_batch", b"--x\r\n", content_type="multipart/form-data", **token
    )

    refused(response, "form body cannot be read")


def test_too_many_files_are_refused_saying_how_many_may_be_sent(client, token, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"leads{i}.csv", CSV) for i in range(3)]

    response = client.post("/upload_batch", {"file": files}, **token)

    refused(response, "Send at most 2 files in one request.")


def test_a_form_with_too_many_fields_is_refused_as_json(client, token, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{i}=x" for i in range(20))

    response = client.generic(
        "POST",
        "/upload_batch",
        body,
        content_type="application/x-www-form-urlencoded",
        **token,
    )

    refused(response, "form body cannot be read")


@pytest.fixture
def session():
    """A logged-in operator's browser, CSRF token and all: the CSRF check reads its form
    before any view does."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff("browser", "Operators"))
    browser.get("/admin/")  # sets the CSRF cookie
    browser.defaults["HTTP_X_CSRFTOKEN"] = browser.cookies["csrftoken"].value
    return browser


def test_a_sessions_unreadable_upload_form_is_refused_as_json(session, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"leads{i}.csv", CSV) for i in range(3)]

    refused(session.post("/upload_batch", {"file": files}), "Send at most 2 files")
    refused(
        session.generic("POST", "/upload_batch", b"--x\r\n", content_type="multipart/form-data"),
        "form body cannot be read",
    )


def test_a_nul_character_in_a_sessions_form_is_refused_before_any_view(session):
    response = session.post(
        "/upload_batch", {"file": SimpleUploadedFile("leads.csv", CSV), "customer": "acme\x00"}
    )

    refused(response, "form", "'customer'")
    assert not BatchJob.objects.exists()
