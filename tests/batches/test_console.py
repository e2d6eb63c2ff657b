"""The operator console pages: dashboard, batch page panels, leads filters and export."""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import services
from batches.models import BatchJob
from batches.services.inline import batch_process_inline
from customers.models import Customer
from customers.secrets import secret_new
from tests.users import staff
from tests.webhooks.factories import make_deliveries

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nPeter,Parker,31/02/1991\nA,B,01/01/2020\n"


@pytest.fixture
def batch():
    created = services.batch_create(files=[SimpleUploadedFile("crm.csv", CSV)], queue=False)
    return batch_process_inline(batch=created)


def test_dashboard_shows_the_day_figures(client, batch):
    client.force_login(staff("v", "Viewers"))
    page = client.get("/admin/").content.decode()
    assert 'id="dashboard"' in page
    assert 'data-figure="leads_validated">3<' in page
    assert 'data-figure="leads_valid">1<' in page  # the invalid date and the child are not
    assert "Webhook sweep" in page


def test_batches_list_shows_status_and_webhook_counts_per_batch(client, batch):
    from webhooks.models import DeliveryStatus

    # Each of the batch's three leads has a scheduled delivery; add some of each outcome.
    other = services.batch_create(files=[SimpleUploadedFile("other.csv", CSV)], queue=False)
    make_deliveries(2, batch=batch, status=DeliveryStatus.DELIVERED)
    make_deliveries(1, batch=batch, status=DeliveryStatus.RETRYING)
    make_deliveries(3, batch=batch, status=DeliveryStatus.FAILED)
    make_deliveries(4, batch=other, status=DeliveryStatus.FAILED)
    client.force_login(staff("v", "Viewers"))

    page = client.get("/admin/batches/batchjob/").content.decode()

    row = page[page.index(f">{batch.batch_id}<") :]
    row = row[: row.index("</tr>")]
    assert ">Completed</span>" in row
    assert ">done in 0 s</span>" in row  # how long it took
    base = f"/admin/webhooks/delivery/?batch__batch_id={batch.batch_id}&amp;status__in="
    assert "1&nbsp;valid, 2&nbsp;invalid, 0&nbsp;duplicate" in row
    assert f'{base}delivered" title="delivered">2&nbsp;delivered</a>' in row
    pending = f'{base}scheduled,sending,retrying" title="scheduled, sending or retrying"'
    assert f"{pending}>4&nbsp;pending</a>" in row  # three scheduled and the retrying one
    assert f'{base}failed" title="failed">3&nbsp;failed</a>' in row
    other_row = page[page.index(f">{other.batch_id}<") :]
    assert ">Pending</span>" in other_row[: other_row.index("</tr>")]


def test_failed_deliveries_re_sent_or_erased_no_longer_wait_for_an_operator(client, batch):
    from django.utils import timezone

    from batches.dashboard import dashboard_figures
    from webhooks.models import DeliveryStatus
    from webhooks.services import deliveries_resend

    failed = make_deliveries(4, batch=batch, status=DeliveryStatus.FAILED)
    make_deliveries(1, batch=batch, status=DeliveryStatus.FAILED, erased_at=timezone.now())
    make_deliveries(2, batch=batch, status=DeliveryStatus.REJECTED)
    (resent,) = deliveries_resend(deliveries=batch.deliveries.filter(pk=failed[0].pk))
    batch.deliveries.filter(pk=resent.pk).update(status=DeliveryStatus.DELIVERED)
    client.force_login(staff("v", "Viewers"))

    assert dashboard_figures(user=None)["waiting_for_operator"] == 3
    listing = client.get("/admin/batches/batchjob/").content.decode()
    assert '">3&nbsp;failed</a>' in listing
    assert 'title="refused by the receiver">2&nbsp;rejected</a>' in listing
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    assert "5 failed" in page and "(1 re-sent by an operator" in page
    # The dashboard's figure leads to exactly those deliveries.
    index = client.get("/admin/").content.decode()
    assert '/admin/webhooks/delivery/?resend=waiting"' in index
    waiting = client.get("/admin/webhooks/delivery/", {"resend": "waiting"})
    assert {d.pk for d in waiting.context["cl"].result_list} == {d.pk for d in failed[1:]}


def test_deliveries_list_follows_the_pending_link(client, batch):
    from webhooks.models import DeliveryStatus

    make_deliveries(1, batch=batch, status=DeliveryStatus.RETRYING)
    make_deliveries(1, batch=batch, status=DeliveryStatus.FAILED)
    client.force_login(staff("v", "Viewers"))

    page = client.get(
        f"/admin/webhooks/delivery/?batch__batch_id={batch.batch_id}"
        "&status__in=scheduled,sending,retrying"
    )

    assert page.status_code == 200
    assert "4 deliveries" in page.content.decode()  # the leads' three and the retrying one


def test_batch_page_breaks_errors_down_with_links(client, batch):
    client.force_login(staff("v", "Viewers"))
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    assert f'data-status-url="/batch_status/{batch.batch_id}"' in page
    assert f"?batch={batch.batch_id}&amp;error=dob_unparseable" in page
    assert f"?batch={batch.batch_id}&amp;error=under_min_age" in page


def test_batch_page_counts_a_running_batch_from_its_rows(client, settings):
    settings.CHUNK_SIZE = 2
    rows = b"".join(f"Ann{n},Lee,0{n}/03/1990\n".encode() for n in range(1, 5))
    created = services.batch_create(
        files=[SimpleUploadedFile("crm.csv", b"first_name,last_name,dob\n" + rows)], queue=False
    )
    (first, last), _ = services.batch_split(batch_pk=created.pk)
    services.chunk_validate(batch_pk=created.pk, first_seq=first, last_seq=last)
    client.force_login(staff("v", "Viewers"))

    page = client.get(f"/admin/batches/batchjob/{created.pk}/change/").content.decode()

    assert '<span id="batch-processed">2</span>' in page
    assert '<span id="batch-valid">2</span>' in page, "not 0 until the batch completes"


def test_a_cancelled_batch_page_says_its_leads_were_not_validated(client):
    rows = b"".join(f"Ann{n},Lee,0{n}/03/1990\n".encode() for n in range(1, 4))
    created = services.batch_create(
        files=[SimpleUploadedFile("crm.csv", b"first_name,last_name,dob\n" + rows)], queue=False
    )
    services.batch_split(batch_pk=created.pk)
    assert services.batch_cancel(batch=created)
    client.force_login(staff("op", "Operators"))

    page = client.get(f"/admin/batches/batchjob/{created.pk}/change/").content.decode()

    assert f"?batch={created.batch_id}&amp;status__exact=failed" in page
    assert ">3 not validated</a>" in page
    assert "3 leads were not validated: the batch was cancelled first." in page
    assert '<span id="batch-total">3</span>' in page
    assert 'value="resend_all_webhooks"' not in page, "it has no webhooks to re-send"
    assert 'value="export_results"' in page


def test_a_batch_with_webhooks_offers_to_re_send_them(client, batch):
    client.force_login(staff("op", "Operators"))

    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()

    assert 'value="resend_all_webhooks"' in page


def test_batch_page_writes_counts_with_thousands_separators(client):
    rows = b"".join(f"Ann{n},Lee,01/02/1980\n".encode() for n in range(1200))
    created = services.batch_create(
        files=[SimpleUploadedFile("crm.csv", b"first_name,last_name,dob\n" + rows)], queue=False
    )
    client.force_login(staff("v", "Viewers"))

    page = client.get(f"/admin/batches/batchjob/{created.pk}/change/").content.decode()

    assert '<span id="batch-total">1,200</span>' in page


def test_batch_page_gives_no_due_time_while_its_webhooks_cannot_go_out(client, batch):
    # The default customer has no secret here (no WEBHOOK_SECRET): its webhooks wait.
    client.force_login(staff("v", "Viewers"))
    url = f"/admin/batches/batchjob/{batch.pk}/change/"

    waiting = client.get(url).content.decode()
    Customer.objects.filter(pk=batch.customer_id).update(secret=secret_new())
    sendable = client.get(url).content.decode()

    assert "Next due: none while they cannot go out" in waiting
    assert "Next due: none" not in sendable and "Next due: nothing due" not in sendable


def test_viewer_sees_export_but_no_button_that_would_be_refused(client, batch):
    client.force_login(staff("v", "Viewers"))
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    assert 'value="export_results"' in page
    for action in ("reprocess", "cancel", "force_complete", "resend_failed_webhooks"):
        assert f'value="{action}"' not in page
    assert client.get("/admin/batches/batchjob/add/").status_code == 403


def test_operator_sees_the_batch_actions(client, batch):
    from batches.models import BatchJob, BatchStatus

    BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.PROCESSING)
    client.force_login(staff("o", "Operators"))
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    for action in ("export_results", "reprocess", "cancel", "force_complete"):
        assert f'value="{action}"' in page
    assert client.get("/admin/batches/batchjob/add/").status_code == 200


def test_a_finished_batch_offers_no_action_that_would_do_nothing(client, batch):
    client.force_login(staff("o", "Operators"))
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    for action in ("reprocess", "cancel", "force_complete"):
        assert f'value="{action}"' not in page
    assert 'value="export_results"' in page and 'value="resend_all_webhooks"' in page

    response = client.post(
        "/admin/batches/batchjob/",
        {"action": "cancel", "_selected_action": [batch.pk]},
        follow=True,
    )  # from a page opened before the batch finished

    [said] = [str(m) for m in response.context["messages"] if "cancelled" in str(m)]
    assert said == (
        "0 batches cancelled. 1 left as it was: only a pending, processing or failed batch"
        " can be cancelled (and not once its rows are purged)."
    )


def test_leads_filter_by_error_code_and_batch(client, batch):
    client.force_login(staff("v", "Viewers"))
    url = f"/admin/leads/leadvalidation/?batch={batch.batch_id}&error=under_min_age"
    page = client.get(url).content.decode()
    assert "a.b.01012020" in page and "john.smith.15031990" not in page


def test_leads_list_shows_a_date_that_is_not_one_as_given_and_links_a_lead_without_id(
    client, batch
):
    client.force_login(staff("v", "Viewers"))
    url = f"/admin/leads/leadvalidation/?batch={batch.batch_id}&error=dob_unparseable"
    page = client.get(url).content.decode()
    peter = batch.leads.get(first_name="Peter")

    assert not peter.lead_id, "no lead id without a date of birth"
    assert '<td class="field-date_of_birth">31/02/1991</td>' in page
    assert f'<a href="/admin/leads/leadvalidation/{peter.pk}/change/' in page
    assert ">Peter</a>" in page
    assert "crm.csv, row 3" in page


def test_leads_export_of_a_selection(client, batch):
    client.force_login(staff("v", "Viewers"))
    lead = batch.leads.get(row_number=2)
    response = client.post(
        "/admin/leads/leadvalidation/",
        {"action": "export_csv", "_selected_action": [lead.pk], "index": 0},
    )
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.count("\n") == 2 and "john.smith.15031990" in text


def test_lead_page_shows_raw_row_and_messages(client, batch):
    client.force_login(staff("v", "Viewers"))
    lead = batch.leads.get(row_number=3)
    page = client.get(f"/admin/leads/leadvalidation/{lead.pk}/change/").content.decode()
    assert "<code>dob_unparseable</code>" in page
    assert "&quot;dob&quot;: &quot;31/02/1991&quot;" in page or '"dob": "31/02/1991"' in page


def test_batch_list_counts_deliveries_from_the_batch_status_index_alone(batch):
    """With millions of deliveries, a count that reads the table took 23 s for 30 batches."""
    from django.db import connection

    from batches.admin import _deliveries_count
    from batches.models import BatchJob
    from webhooks.models import DeliveryStatus

    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    query = BatchJob.objects.annotate(n=_deliveries_count([DeliveryStatus.DELIVERED])).query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        # As on a big table: no plan that reads every row or visits the table per entry.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "Index Only Scan using delivery_batch_idx" in plan, plan


def test_leads_validated_between_finds_a_days_leads_through_the_batches_then_working(batch):
    from datetime import timedelta

    from batches.models import BatchJob
    from batches.selectors import leads_validated_between

    batch.refresh_from_db()
    validated = batch.leads.exclude(validated_at=None)
    assert validated.count() == 3
    at = validated.latest("validated_at").validated_at
    everyone = BatchJob.objects.all()
    assert leads_validated_between(batches=everyone, since=at - timedelta(hours=1)).count() == 3
    assert leads_validated_between(batches=everyone, since=at + timedelta(seconds=1)).count() == 0
    until = at - timedelta(hours=1)
    assert not leads_validated_between(
        batches=everyone, since=at - timedelta(days=1), until=until
    ).exists()
    # A chunk that started before another and committed after it may leave the batch's
    # progress_at up to the task time limit before its last rows' validated_at: still found.
    BatchJob.objects.filter(pk=batch.pk).update(progress_at=at - timedelta(minutes=10))
    assert leads_validated_between(batches=everyone, since=at - timedelta(seconds=1)).count() == 3


def test_errors_by_code_count_each_invalid_lead_once_with_any_code(batch):
    from batches.dashboard import batch_error_breakdown
    from leads.models import LeadStatus

    invalid = batch.leads.filter(status=LeadStatus.INVALID)
    assert invalid.count() == 2
    # A deployment's own rule and ENRICH_REJECT_DISPOSABLE's code count as the built-in ones.
    first, second = invalid.order_by("seq")
    first.errors = ["house_rule", "email_disposable", "house_rule"]
    first.save(update_fields=["errors"])
    second.errors = [*second.errors, "house_rule"]
    second.save(update_fields=["errors"])

    rows = {row["code"]: row for row in batch_error_breakdown(batch=batch)}

    assert rows["house_rule"]["count"] == 2
    assert rows["house_rule"]["message"] == "Failed validation rule 'house_rule'."
    assert rows["email_disposable"]["count"] == 1
    assert batch_error_breakdown(batch=batch)[0]["code"] == "house_rule"  # the most frequent


@pytest.mark.parametrize(
    ("scheduled_ago", "ran_ago", "enabled", "late"),
    [
        (10, None, True, False),  # a new deployment: beat has not had its first turn yet
        (600, None, True, True),  # scheduled ten minutes ago and never ran
        (10, None, False, True),  # no enabled schedule: beat never runs the sweep
        (600, 20, True, False),
        (600, 600, True, True),  # ran once, then stopped
    ],
)
def test_the_sweep_is_late_once_its_schedule_had_time_to_run_it(
    settings, scheduled_ago, ran_ago, enabled, late
):
    from datetime import timedelta

    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from batches.dashboard import dashboard_figures
    from batches.setup import periodic_tasks_ensure
    from webhooks.models import WebhookControl

    settings.WEBHOOK_SWEEP_SECONDS = 30
    now = timezone.now()
    periodic_tasks_ensure()
    sweep = PeriodicTask.objects.filter(task="webhooks.sweep")
    sweep.update(enabled=enabled, date_changed=now - timedelta(seconds=scheduled_ago))
    ran_at = None if ran_ago is None else now - timedelta(seconds=ran_ago)
    WebhookControl.objects.update_or_create(
        pk=WebhookControl.SINGLETON_PK, defaults={"sweep_ran_at": ran_at}
    )

    assert dashboard_figures()["sweep_late"] is late


def test_dashboard_and_batch_page_say_what_keeps_webhooks_waiting(client, batch, settings):
    settings.WEBHOOK_SECRET = ""
    client.force_login(staff("o", "Operators"))

    index = client.get("/admin/").content.decode()
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/")

    assert 'id="sending-problems"' in index and "WEBHOOK_SECRET is not set" in index
    assert any("WEBHOOK_SECRET is not set" in str(m) for m in page.context["messages"])
    settings.WEBHOOK_SECRET = "whsec_" + "A" * 32
    settings.WEBHOOK_URL = "https://hooks.example.com/valify"
    assert 'id="sending-problems"' not in client.get("/admin/").content.decode()


def test_batch_page_says_why_a_batch_of_duplicates_has_no_webhooks(client):
    rows = b"first_name,last_name,dob\nJohn,Smith,15/03/1990\nAnn,Lee,01/01/1980\n"
    first, again = (
        batch_process_inline(
            batch=services.batch_create(files=[SimpleUploadedFile(name, rows)], queue=False)
        )
        for name in ("crm.csv", "again.csv")
    )
    client.force_login(staff("v", "Viewers"))

    pages = [
        client.get(f"/admin/batches/batchjob/{b.pk}/change/").content.decode()
        for b in (first, again)
    ]

    assert "No webhooks" not in pages[0]
    assert (again.duplicate_count, again.total_leads) == (2, 2)
    assert "No webhooks: every lead of this batch is a duplicate" in pages[1]


def test_batches_are_not_offered_for_deletion_even_to_a_superuser(client, batch):
    client.force_login(User.objects.create_superuser("root", password="pw-123456789"))
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    listing = client.get("/admin/batches/batchjob/").content.decode()

    assert f"/admin/batches/batchjob/{batch.pk}/delete/" not in page
    assert 'value="delete_selected"' not in listing
    assert client.get(f"/admin/batches/batchjob/{batch.pk}/delete/").status_code == 403
    assert BatchJob.objects.filter(pk=batch.pk).exists()


def test_deliveries_waiting_for_a_disabled_endpoint_are_not_counted_as_due(client):
    from datetime import timedelta

    from django.utils import timezone

    from customers.models import Endpoint
    from customers.services import customer_create
    from tests.webhooks.factories import make_batch

    acme = customer_create(slug="acme", name="Acme").customer
    live, dark = (
        Endpoint.objects.create(customer=acme, url=f"https://{name}.example.com/hook")
        for name in ("live", "dark")
    )
    Endpoint.objects.filter(pk=dark.pk).update(is_enabled=False, disabled_reason="410 Gone")
    batch = make_batch(customer=acme)
    make_deliveries(2, batch=batch, customer_endpoint=live)
    make_deliveries(3, batch=batch, customer_endpoint=dark)  # overdue, going nowhere
    make_deliveries(1, batch=batch, customer_endpoint=live, due=timezone.now() + timedelta(hours=2))
    client.force_login(User.objects.create_superuser("root", password="pw"))

    page = client.get("/admin/").content.decode()

    assert 'data-figure="due_next_hour">2<' in page
    assert "3 more wait for a disabled endpoint" in page
    assert "/admin/customers/endpoint/?is_enabled__exact=0" in page


def test_deliveries_held_by_a_delivery_window_past_the_hour_are_not_counted_as_due(client):
    from django.utils import timezone

    from customers.services import customer_create
    from tests.webhooks.factories import make_batch

    open_, shut = (customer_create(slug=slug, name=slug).customer for slug in ("open", "shut"))
    # Open only two days from now: nothing of it goes out within the hour.
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[
        (timezone.localtime().weekday() + 2) % 7
    ]
    Customer.objects.filter(pk=shut.pk).update(delivery_window=f"{day} 09:00-20:00")
    make_deliveries(2, batch=make_batch(customer=open_))
    make_deliveries(3, batch=make_batch(customer=shut))  # overdue, held by the window
    client.force_login(User.objects.create_superuser("root", password="pw"))

    page = client.get("/admin/").content.decode()

    assert 'data-figure="due_next_hour">2<' in page
    assert "3 more wait for a delivery window or daily cap" in page


def test_the_batch_page_names_the_disabled_endpoint_its_webhooks_wait_for(client):
    from customers.models import Endpoint
    from customers.services import customer_create
    from tests.webhooks.factories import make_batch

    acme = customer_create(slug="acme", name="Acme").customer
    dark = Endpoint.objects.create(customer=acme, url="https://dark.example.com/hook")
    Endpoint.objects.filter(pk=dark.pk).update(is_enabled=False, disabled_reason="410 Gone")
    batch = make_batch(customer=acme)
    make_deliveries(3, batch=batch, customer_endpoint=dark)
    client.force_login(User.objects.create_superuser("root", password="pw"))

    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()

    assert "see the disabled endpoints below" in page
    assert "3 wait for" in page and f"/admin/customers/endpoint/{dark.pk}/change/" in page
    assert "disabled: 410 Gone" in page


def test_a_completed_batchs_unsent_webhooks_can_be_cancelled_from_its_page(client, batch):
    from webhooks.models import DeliveryStatus

    make_deliveries(1, batch=batch, status=DeliveryStatus.DELIVERED)
    client.force_login(staff("v", "Viewers"))
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    assert 'value="cancel_webhooks"' not in page  # viewing is not acting

    client.force_login(staff("o", "Operators"))
    page = client.get(f"/admin/batches/batchjob/{batch.pk}/change/").content.decode()
    assert 'value="cancel_webhooks"' in page and "Cancel the 3 unsent webhooks" in page
    response = client.post(
        "/admin/batches/batchjob/",
        {"action": "cancel_webhooks", "_selected_action": [batch.pk], "index": 0},
        follow=True,
    )

    assert "3 unsent webhooks cancelled." in response.content.decode()
    statuses = sorted(batch.deliveries.values_list("status", flat=True))
    assert statuses == ["cancelled"] * 3 + ["delivered"]
    batch.refresh_from_db()
    assert batch.status == "completed"
