"""Request size limit and the health probe: both answer before the rest of the stack."""

import io
import json

import pytest
from django.contrib.auth.models import User
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections


class _Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read")


def call_wsgi(
    path: str, *, method="GET", host="localhost", length=None, body=None, cookie="", extra=None
):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": host,
        "wsgi.url_scheme": "http",
        "wsgi.input": body if body is not None else io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "multipart/form-data; boundary=x",
    }
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    environ.update(extra or {})
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(headers)

    # As Django's test client does: the test's transaction must outlive the request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        chunks = WSGIHandler()(environ, start_response)
        answer["body"] = b"".join(chunks)
        chunks.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return answer


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/upload_batch", "/no/such/page"])
def test_a_body_over_the_limit_is_refused_from_its_length_unread(path, settings):
    settings.MAX_UPLOAD_MB = 20
    answer = call_wsgi(
        path,
        method="POST",
        length=300 * 1024 * 1024,
        body=_Unreadable(),
        cookie="csrftoken=" + "a" * 32,
    )

    assert answer["status"] == 413
    assert json.loads(answer["body"])["error"] == "too_large"
    assert answer["headers"]["Connection"] == "close"


@pytest.mark.django_db
def test_a_body_at_the_limit_goes_on(settings, client):
    settings.MAX_UPLOAD_MB = 1
    limit = 2 * 1024 * 1024  # 1 MB of files + 1 MB for the form
    response = client.post("/upload_batch", b"", content_type="text/plain", CONTENT_LENGTH=limit)
    assert response.status_code == 401  # reached the view, which wants credentials


@pytest.mark.django_db
def test_a_content_length_that_is_not_a_number_is_a_bad_request():
    answer = call_wsgi("/upload_batch", method="POST", length="12abc")
    assert answer["status"] == 400


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/upload_batch", "/admin/login/"])
def test_a_chunked_body_is_refused_with_411_not_read_as_empty(path):
    answer = call_wsgi(
        path, method="POST", body=_Unreadable(), extra={"HTTP_TRANSFER_ENCODING": "chunked"}
    )

    assert answer["status"] == 411 and answer["headers"]["Connection"] == "close"
    assert json.loads(answer["body"])["error"] == "length_required"


@pytest.mark.django_db
def test_health_answers_a_probe_from_a_host_the_site_does_not_serve(settings, monkeypatch):
    from api import selectors

    settings.ALLOWED_HOSTS = ["valify.example.com"]
    parts = {"database": "ok", "broker": "error: down at 10.0.0.7:6379", "storage": "ok"}
    monkeypatch.setattr(selectors, "_health_checks_now", lambda: (parts, None))
    answer = call_wsgi("/health", host="healthcheck.railway.app")

    assert answer["status"] == 503, answer["body"]  # the health answer, not a 400 for the host
    body = json.loads(answer["body"])
    assert body["checks"] == {"database": "ok", "broker": "error", "storage": "ok"}


@pytest.mark.django_db
def test_other_paths_still_check_the_host(settings):
    settings.ALLOWED_HOSTS = ["valify.example.com"]
    assert call_wsgi("/admin/login/", host="healthcheck.railway.app")["status"] == 400


def _break_the_broker(monkeypatch):
    from kombu import Connection

    from valify.celery import app

    # Patching app.conf's broker URLs does not undo cleanly (Celery settings keep them).
    monkeypatch.setattr(app, "connection_for_write", lambda: Connection("redis://127.0.0.1:9/0"))


@pytest.mark.django_db
def test_health_tells_an_anonymous_caller_only_error(client, monkeypatch):
    _break_the_broker(monkeypatch)
    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error"
    assert "127.0.0.1" not in response.content.decode()


@pytest.mark.django_db
def test_health_gives_staff_the_error_text(client, monkeypatch):
    _break_the_broker(monkeypatch)
    client.force_login(User.objects.create_user("ops", is_staff=True))
    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error: ")
    assert len(response.json()["checks"]["broker"]) > len("error: ")


@pytest.mark.django_db
def test_health_answers_from_a_result_at_most_ten_seconds_old(client, monkeypatch):
    from api import selectors

    calls = []
    real = selectors._health_checks_now
    monkeypatch.setattr(selectors, "_health_checks_now", lambda: calls.append(1) or real())
    client.get("/health")
    client.get("/health")
    assert len(calls) == 1
    clock = selectors.time.monotonic
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock() + 11)
    client.get("/health")
    assert len(calls) == 2
