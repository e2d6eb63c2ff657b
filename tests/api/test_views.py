"""The seed endpoints: every one for anonymous, viewer, operator, revoked token, unknown batch."""

import csv
import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from batches import services
from batches.models import BatchJob
from batches.services.inline import batch_process_inline
from customers.models import Customer, Endpoint
from customers.secrets import secret_new
from customers.services import customer_create, endpoint_create
from valify.timefmt import utc_iso
from webhooks.models import Delivery, DeliveryStatus, WebhookControl
from webhooks.services import delivery_resend

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\nX,Y,1/1/90\n"


def staff(username: str, group: str) -> User:
    user = User.objects.create_user(username, password="pw-123456789", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def viewer():
    return staff("viewer", "Viewers")


@pytest.fixture
def operator():
    return staff("operator", "Operators")


@pytest.fixture
def batch():
    created = services.batch_create(files=[SimpleUploadedFile("leads.csv", CSV)], queue=False)
    return batch_process_inline(batch=created)


def bearer(user: User) -> dict:
    _, plain = ApiToken.issue(name="script", user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def upload(client: Client, **extra):
    return client.post("/upload_batch", {"file": SimpleUploadedFile("leads.csv", CSV)}, **extra)


READ_ENDPOINTS = ("/batch_status/{}", "/download_results/{}", "/webhook_status/{}")


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_anonymous_gets_401_and_no_data(client, batch, path):
    response = client.get(path.format(batch.batch_id))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert batch.batch_id not in response.content.decode()


def test_anonymous_upload_gets_401_and_creates_nothing(client):
    assert upload(client).status_code == 401
    assert not BatchJob.objects.exists()


@pytest.mark.parametrize("path", ["/", "/batch_admin"])
def test_root_redirects_into_the_admin_login_for_anonymous(client, path):
    response = client.get(path, follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("get", "/upload_batch", "POST"), ("post", "/health", "GET"), ("delete", "/metrics", "GET")],
)
def test_a_wrong_method_is_405_in_the_error_shape(client, method, path, allowed):
    response = getattr(client, method)(path)

    assert response.status_code == 405 and response["Allow"] == allowed
    assert response.json() == {"error": "method_not_allowed", "detail": f"Use {allowed}."}


@pytest.mark.parametrize("path", ["/api/nothing", "/api/endpoints/abc", "/api/batches/x/y"])
def test_an_unknown_api_url_is_404_in_the_error_shape(client, path):
    response = client.patch(path)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": f"No API endpoint at {path}."}


@pytest.mark.parametrize(
    "path", ["/batch_status/batch_0123456789ab/", "/webhook_status/batch_0123456789ab/", "/health/"]
)
def test_a_trailing_slash_is_404_in_the_error_shape_and_says_so(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "detail": f"No API endpoint at {path}. The API's URLs end without a slash: {path[:-1]}",
    }


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/upload_batch/"), ("patch", "/api/endpoints/-1")]
)
def test_a_scripts_write_to_a_wrong_api_url_is_404_not_a_csrf_page(operator, method, path):
    script = Client(enforce_csrf_checks=True)  # as a script is: a token, no CSRF cookie

    response = getattr(script, method)(path, **bearer(operator))

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("path", ["/batch_status/", "/upload_batch/x"])
def test_a_url_beside_an_api_one_is_404_in_the_error_shape(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": f"No API endpoint at {path}."}


def test_root_redirects_to_batch_list_for_staff(client, viewer):
    client.force_login(viewer)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/batches/batchjob/"


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_viewer_reads_with_session(client, viewer, batch, path):
    client.force_login(viewer)
    assert client.get(path.format(batch.batch_id)).status_code == 200


def test_viewer_cannot_upload(client, viewer):
    client.force_login(viewer)
    response = upload(client, **bearer(viewer))
    assert response.status_code == 403
    assert "upload_batch" in response.json()["detail"]
    assert not BatchJob.objects.exists()


def test_batch_status_document(client, viewer, batch):
    body = client.get(f"/batch_status/{batch.batch_id}", **bearer(viewer)).json()
    assert body == {
        "batch_id": batch.batch_id,
        "status": "completed",
        "total_leads": 3,
        "processed_leads": 3,
        "valid": 2,
        "invalid": 1,
        "duplicate": 0,
        "progress": 100,
        "created_at": batch.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "completed_at": batch.completed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "error": None,
        "customer": "default",
    }


def test_progress_is_floored_and_below_100_until_completed(client, viewer, settings):
    settings.CHUNK_SIZE = 2
    batch = services.batch_create(files=[SimpleUploadedFile("leads.csv", CSV)], queue=False)
    services.batch_split(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=1, last_seq=2)
    body = client.get(f"/batch_status/{batch.batch_id}", **bearer(viewer)).json()
    assert (body["status"], body["processed_leads"], body["progress"]) == ("processing", 2, 66)
    assert body["completed_at"] is None


def test_download_streams_the_results_csv(client, viewer, batch):
    response = client.get(f"/download_results/{batch.batch_id}", **bearer(viewer))
    assert response.streaming
    assert response["Content-Disposition"] == (
        f'attachment; filename="{batch.batch_id}_results.csv"'
    )
    text = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["id"] for r in rows] == ["john.smith.15031990", "jane.doe.22081985", ""]


def test_webhook_status_counts_deliveries(client, viewer, batch):
    body = client.get(f"/webhook_status/{batch.batch_id}", **bearer(viewer)).json()
    assert body["deliveries"]["scheduled"] == 3
    assert set(body["deliveries"]) == {
        "scheduled", "sending", "delivered", "retrying", "failed", "rejected", "cancelled"
    }  # fmt: skip
    # The default customer has no secret here (no WEBHOOK_SECRET): nothing can go out yet.
    assert body["next_due_at"] is None
    Customer.objects.filter(pk=batch.customer_id).update(secret=secret_new())
    body = client.get(f"/webhook_status/{batch.batch_id}", **bearer(viewer)).json()
    assert body["next_due_at"].endswith("Z")


@pytest.mark.parametrize("path", READ_ENDPOINTS)
def test_unknown_batch_is_404(client, viewer, path):
    response = client.get(path.format("batch_000000000000"), **bearer(viewer))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_operator_uploads_with_token(client, operator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(client, **bearer(operator))
    assert response.status_code == 201
    body = response.json()
    batch = BatchJob.objects.get(batch_id=body["batch_id"])
    assert body["status"] == "pending" and body["total_leads"] == 3
    assert body["status_url"].endswith(f"/batch_status/{batch.batch_id}")
    assert batch.created_by == operator
    assert len(callbacks) == 1


def test_refused_file_is_400_with_its_code(client, operator):
    response = client.post(
        "/upload_batch",
        {"file": SimpleUploadedFile("bad.csv", b"name,when\nJohn,today\n")},
        **bearer(operator),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "missing_columns"
    assert "bad.csv" in response.json()["detail"]
    assert not BatchJob.objects.exists()


def test_webhook_url_is_recorded(client, operator):
    response = client.post(
        "/upload_batch",
        {
            "file": SimpleUploadedFile("leads.csv", CSV),
            "webhook_url": "https://hooks.example.com/in",
        },
        **bearer(operator),
    )
    assert response.status_code == 201
    assert BatchJob.objects.get().webhook_url == "https://hooks.example.com/in"


@pytest.mark.parametrize(
    ("webhook_url", "reason"),
    [
        ("http://hooks.example.com/in", "webhook_url must be an https URL."),
        ("https://hooks.example.com/my leads", "whitespace"),
        ("https://hooks.example.com/" + "a" * 480, "at most 500 characters"),
        ("hooks.example.com/in", "https"),
        ("https://10.0.0.7/in", "a private address"),
        ("https://[fec0::1]/in", "a site-local (deprecated) address"),
        ("https://localhost/in", "this machine"),
    ],
)
def test_refused_webhook_url_is_400_bad_request_with_the_reason(
    client, operator, settings, webhook_url, reason
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    response = client.post(
        "/upload_batch",
        {"file": SimpleUploadedFile("leads.csv", CSV), "webhook_url": webhook_url},
        **bearer(operator),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request" and reason in response.json()["detail"]
    assert not BatchJob.objects.exists()


def test_same_idempotency_key_returns_the_first_answer(client, operator):
    auth = bearer(operator)
    first = upload(client, HTTP_IDEMPOTENCY_KEY="abc-1", **auth)
    second = upload(client, HTTP_IDEMPOTENCY_KEY="abc-1", **auth)
    assert second.status_code == 201 and second.json() == first.json()
    assert BatchJob.objects.count() == 1
    upload(client, HTTP_IDEMPOTENCY_KEY="abc-2", **auth)
    assert BatchJob.objects.count() == 2


def test_session_upload_needs_csrf(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = upload(client)
    assert response.status_code == 403 and response.json()["error"] == "csrf_failed"
    client.get("/admin/")
    token = client.cookies["csrftoken"].value
    assert upload(client, HTTP_X_CSRFTOKEN=token).status_code == 201


def test_revoked_token_is_401(client, operator, batch):
    auth = bearer(operator)
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    response = client.get(f"/batch_status/{batch.batch_id}", **auth)
    assert response.status_code == 401


def test_token_use_is_recorded(client, operator, batch):
    auth = bearer(operator)
    client.get(f"/batch_status/{batch.batch_id}", **auth)
    assert ApiToken.objects.get().last_used_at is not None


def test_token_of_non_staff_user_is_403(client, batch):
    user = User.objects.create_user("customer", password="pw-123456789")
    response = client.get(f"/batch_status/{batch.batch_id}", **bearer(user))
    assert response.status_code == 403


def test_token_is_stored_hashed():
    user = User.objects.create_user("someone")
    token, plain = ApiToken.issue(name="x", user=user)
    assert plain not in (token.digest, token.prefix) and len(token.digest) == 64


def test_health_is_open_and_reports_each_part(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}
    assert "sweep_last_run" in body


def test_health_names_a_broker_that_is_down(client, monkeypatch):
    from kombu import Connection

    from valify.celery import app

    # Patching app.conf's broker URLs does not undo cleanly (Celery settings keep them).
    monkeypatch.setattr(app, "connection_for_write", lambda: Connection("redis://127.0.0.1:9/0"))
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["broker"].startswith("error")
    assert body["checks"]["database"] == "ok"


def test_metrics_need_credentials(client):
    assert client.get("/metrics").status_code == 401


def test_metrics_expose_the_product_figures(client, viewer, batch):
    response = client.get("/metrics", **bearer(viewer))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'valify_leads_validated_total{status="valid"} 2.0' in text
    assert 'valify_leads_validated_total{status="invalid"} 1.0' in text
    assert 'valify_deliveries{status="scheduled"} 3.0' in text
    assert "valify_batches_processing 0.0" in text
    assert "valify_oldest_due_delivery_seconds 0.0" in text
    assert "valify_sweep_lag_seconds" in text


def test_metrics_are_refused_to_callers_limited_to_some_customers(client, viewer, batch):
    from api.models import ApiToken
    from customers.services import customer_create

    acme = customer_create(slug="acme", name="Acme").customer
    member = staff("member", "Customer viewers")
    acme.members.add(member)
    _, limited = ApiToken.issue(name="acme script", user=viewer, customer=acme)

    for headers in (bearer(member), {"HTTP_AUTHORIZATION": f"Bearer {limited}"}):
        response = client.get("/metrics", **headers)
        assert response.status_code == 403
        assert "cover every customer" in response.json()["detail"]
        assert "valify_" not in response.content.decode()


def test_upload_uses_a_mapping_profile_and_names_it(client, operator):
    from batches.services.mapping import mapping_profile_remember

    mapping_profile_remember(
        headers=["first_name", "last_name", "dob", "Account Name", "Lead Src"],
        columns=["first_name", "last_name", "dob", "company", "ignore"],
        name="CRM export",
        user=operator,
    )
    content = b"first_name,last_name,dob,Account Name,Lead Src\nJohn,Smith,15/03/1990,Acme,fair\n"

    response = client.post(
        "/upload_batch", {"file": SimpleUploadedFile("crm.csv", content)}, **bearer(operator)
    )

    assert response.status_code == 201
    assert response.json()["mapping_profiles"] == [
        {"file": "crm.csv", "worksheet": None, "profile": "CRM export"}
    ]
    batch = batch_process_inline(batch=BatchJob.objects.get(batch_id=response.json()["batch_id"]))
    lead = batch.leads.get()
    assert lead.company == "Acme" and "Lead Src" not in lead.raw


def test_upload_without_a_profile_has_no_mapping_profiles_key(client, operator):
    answer = upload(client, **bearer(operator)).json()
    assert "mapping_profiles" not in answer and "notes" not in answer


def test_upload_says_which_rows_it_left_out_as_holding_no_lead(client, operator):
    content = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nTotal,,\n"

    response = client.post(
        "/upload_batch", {"file": SimpleUploadedFile("crm.csv", content)}, **bearer(operator)
    )

    assert response.status_code == 201
    assert response.json()["total_leads"] == 1
    assert response.json()["notes"] == [
        {
            "file": "crm.csv",
            "worksheet": None,
            "note": "not read, holding no lead: row 3 (a total or footer line)",
        }
    ]


def test_upload_and_webhook_status_name_the_customer(client, operator):
    body = upload(client, **bearer(operator)).json()
    assert body["customer"] == "default"  # none named: the default customer's
    status = client.get(f"/webhook_status/{body['batch_id']}", **bearer(operator)).json()
    assert status["customer"] == "default"


def test_webhook_status_counts_re_sends_and_skips_a_disabled_endpoints_due_time(
    client, viewer, settings, tmp_path
):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    acme = customer_create(slug="acme", name="Acme").customer
    endpoint = endpoint_create(customer=acme, url="http://127.0.0.1:9/hook")
    leads = tmp_path / "leads.csv"
    leads.write_bytes(CSV)
    call_command("import_batch", str(leads), "--inline", "--customer", "acme")
    batch = BatchJob.objects.get()
    first = Delivery.objects.filter(batch=batch).order_by("pk").first()
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.FAILED)
    delivery_resend(delivery=first)

    body = client.get(f"/webhook_status/{batch.batch_id}", **bearer(viewer)).json()
    assert (body["deliveries"]["failed"], body["resent"]) == (1, 1)
    assert body["next_due_at"] is not None

    Endpoint.objects.filter(pk=endpoint.pk).update(is_enabled=False)
    body = client.get(f"/webhook_status/{batch.batch_id}", **bearer(viewer)).json()
    assert body["next_due_at"] is None, "nothing goes out until the endpoint is enabled"


@pytest.fixture
def acme_batch(settings, tmp_path):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.TIME_ZONE = "Europe/London"
    acme = customer_create(slug="acme", name="Acme").customer
    endpoint_create(customer=acme, url="http://127.0.0.1:9/hook")
    leads = tmp_path / "leads.csv"
    leads.write_bytes(CSV)
    call_command("import_batch", str(leads), "--inline", "--customer", "acme")
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    return acme, BatchJob.objects.get()


def next_due(client, viewer, batch):
    body = client.get(f"/webhook_status/{batch.batch_id}", **bearer(viewer)).json()
    return body["next_due_at"]


@pytest.mark.parametrize(
    "hold",
    [
        lambda acme: Customer.objects.filter(pk=acme.pk).update(is_active=False),
        lambda acme: Customer.objects.filter(pk=acme.pk).update(secret=""),
        lambda acme: WebhookControl.objects.update_or_create(pk=1, defaults={"paused": True}),
    ],
    ids=["inactive", "no-secret", "paused"],
)
def test_webhook_status_has_no_due_time_while_nothing_can_go_out(client, viewer, acme_batch, hold):
    acme, batch = acme_batch
    assert next_due(client, viewer, batch) is not None

    hold(acme)

    assert next_due(client, viewer, batch) is None


def test_webhook_status_due_time_of_a_retry_due_after_the_window_closes(client, viewer, acme_batch):
    acme, batch = acme_batch
    london = ZoneInfo("Europe/London")
    now = timezone.now().astimezone(london)
    if now.minute >= 58:
        pytest.skip("the window below closes within two minutes")
    opens = time(now.hour, 0)
    Customer.objects.filter(pk=acme.pk).update(
        delivery_window=f"{now.hour:02d}:00-{now.hour:02d}:59"
    )
    due = now + timedelta(hours=2)  # the window is open now, closed then
    Delivery.objects.update(next_attempt_at=due)

    day = due.date() if due.time() < opens else due.date() + timedelta(days=1)
    assert next_due(client, viewer, batch) == utc_iso(datetime.combine(day, opens, tzinfo=london))


def test_webhook_status_due_time_waits_for_the_window_and_the_daily_cap(client, viewer, acme_batch):
    acme, batch = acme_batch
    london = ZoneInfo("Europe/London")
    now = timezone.now().astimezone(london)
    opens = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    if opens.date() != now.date():  # a window must open and close on one day
        opens = now.replace(hour=23, minute=0, second=0, microsecond=0)
        if opens <= now:
            pytest.skip("too close to midnight for a window opening later today")
    window = f"{opens:%H:%M}-{opens.hour:02d}:59"
    Customer.objects.filter(pk=acme.pk).update(delivery_window=window)

    assert next_due(client, viewer, batch) == utc_iso(opens)

    Customer.objects.filter(pk=acme.pk).update(delivery_window="", max_deliveries_per_day=1)
    Delivery.objects.filter(pk=Delivery.objects.first().pk).update(
        status=DeliveryStatus.DELIVERED, delivered_at=timezone.now()
    )
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert next_due(client, viewer, batch) == utc_iso(midnight.astimezone(london))
