"""Reports → Delivered leads: per customer and day, from the deliveries' outcomes."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.utils import timezone

from batches import services
from batches.models import BatchJob
from batches.services.inline import batch_process_inline
from batches.services.retention import PurgeReport, batch_purge
from batches.services.upload import open_upload
from customers.services import customer_create, endpoint_create
from leads.models import LeadValidation
from webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db

REPORT = "/admin/reports/deliveredleads/"
CSV = (
    "first_name,last_name,dob\n"
    "John,Smith{n},15/03/1990\nJane,Doe{n},22/08/1985\nAnn,Lee{n},01/02/1980\n"
)


def import_for(tmp_path, slug: str) -> None:
    leads = tmp_path / f"{slug}.csv"
    leads.write_text(CSV.format(n=slug))
    call_command("import_batch", str(leads), "--inline", "--customer", slug)


@pytest.fixture
def activity(settings, tmp_path):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    acme = customer_create(slug="acme", name="Acme").customer
    endpoint_create(customer=acme, url="http://127.0.0.1:9/one")
    endpoint_create(customer=acme, url="http://127.0.0.1:9/two")
    customer_create(slug="other", name="Other")
    import_for(tmp_path, "acme")
    import_for(tmp_path, "other")
    now = timezone.now()
    john, jane, ann = (
        Delivery.objects.filter(batch__customer__slug="acme", lead__first_name=name)
        for name in ("John", "Jane", "Ann")
    )
    john.update(status=DeliveryStatus.DELIVERED, delivered_at=now)  # both endpoints
    first, second = jane.order_by("pk")
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.DELIVERED, delivered_at=now)
    Delivery.objects.filter(pk=second.pk).update(
        status=DeliveryStatus.REJECTED, rejected_reason="already bought"
    )
    Delivery.objects.filter(pk=ann.order_by("pk").first().pk).update(status=DeliveryStatus.FAILED)
    return acme


def rows_of(response) -> list[dict]:
    content = response.content.decode()
    assert content.startswith("\ufeff")  # Excel reads the reasons' accents right
    return list(csv.DictReader(io.StringIO(content.removeprefix("\ufeff"))))


def test_report_counts_each_delivered_lead_once_with_rejections_and_failures(client, activity):
    client.force_login(User.objects.create_superuser("root", password="pw"))

    page = client.get(REPORT)
    rows = rows_of(client.get(REPORT, {"format": "csv", "period": "month"}))

    assert page.status_code == 200 and "already bought (1)" in page.content.decode()
    by_customer = {row["customer"]: row for row in rows}
    assert by_customer["acme"] == {
        "customer": "acme",
        "period": timezone.localtime().strftime("%Y-%m"),
        "validated": "3",
        "delivered": "2",  # John on two endpoints and Jane on one: two leads
        "rejected": "1",
        "failed": "1",
        "reasons": "already bought (1)",
    }
    assert by_customer["other"]["validated"] == "3"
    assert by_customer["other"]["delivered"] == "0"


@pytest.mark.parametrize("period", ["day", "month"])
def test_the_figures_stay_when_retention_purges_the_leads(client, activity, period):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    acme_batch = BatchJob.objects.get(customer=activity)
    # Validated and delivered in an earlier month than the batch ended in.
    earlier = timezone.now() - timedelta(days=40)
    LeadValidation.objects.filter(batch=acme_batch).update(validated_at=earlier)
    Delivery.objects.filter(batch=acme_batch, status=DeliveryStatus.DELIVERED).update(
        delivered_at=earlier
    )
    query = {"format": "csv", "period": period, "since": f"{earlier:%Y-%m-%d}"}
    before = rows_of(client.get(REPORT, query))

    batch_purge(batch=acme_batch, report=PurgeReport(cutoff=timezone.now()), now=timezone.now())

    assert not LeadValidation.objects.filter(batch=acme_batch).exists()
    assert Delivery.objects.filter(batch=acme_batch, lead__isnull=True).count() == 6
    # Counted when they were validated, not when the batch ended (a figure already given
    # for that period must not move).
    local = timezone.localtime(earlier)
    label = f"{local:%Y-%m-%d}" if period == "day" else f"{local:%Y-%m}"
    acme_rows = {r["period"]: r for r in before if r["customer"] == "acme"}
    assert (acme_rows[label]["validated"], acme_rows[label]["delivered"]) == ("3", "2")
    assert rows_of(client.get(REPORT, query)) == before


def test_a_purge_stopped_at_its_deadline_loses_nothing_delivered_meanwhile(client, activity):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    batch = BatchJob.objects.get(customer=activity)
    now = timezone.now()

    batch_purge(batch=batch, report=PurgeReport(cutoff=now), now=now, deadline=0)  # stops
    waiting = Delivery.objects.filter(batch=batch, status=DeliveryStatus.SCHEDULED).first()
    Delivery.objects.filter(pk=waiting.pk).update(
        status=DeliveryStatus.DELIVERED, delivered_at=timezone.now()
    )
    during = rows_of(client.get(REPORT, {"format": "csv", "period": "month"}))
    batch_purge(batch=batch, report=PurgeReport(cutoff=now), now=now)  # goes on

    assert not LeadValidation.objects.filter(batch=batch).exists()
    assert [r["delivered"] for r in during if r["customer"] == "acme"] == ["3"]
    assert rows_of(client.get(REPORT, {"format": "csv", "period": "month"})) == during


def test_a_month_cut_by_the_range_counts_only_its_days_in_it_after_a_purge(client, activity):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    batch = BatchJob.objects.get(customer=activity)
    first = timezone.localtime().replace(day=1, hour=0, minute=30, second=0, microsecond=0)
    if timezone.localtime().day == 1:
        pytest.skip("the range below starts on the 2nd of this month")
    LeadValidation.objects.filter(batch=batch).update(validated_at=first)
    Delivery.objects.filter(batch=batch, status=DeliveryStatus.DELIVERED).update(delivered_at=first)
    query = {"format": "csv", "period": "month", "since": f"{first:%Y-%m}-02"}
    before = rows_of(client.get(REPORT, query))

    batch_purge(batch=batch, report=PurgeReport(cutoff=timezone.now()), now=timezone.now())

    assert [(r["validated"], r["delivered"]) for r in before if r["customer"] == "acme"] in (
        [],
        [("0", "0")],
    )
    assert rows_of(client.get(REPORT, query)) == before


def test_files_of_one_name_in_a_purged_batch_count_apart(client, settings, tmp_path):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    client.force_login(User.objects.create_superuser("root", password="pw"))
    acme = customer_create(slug="acme", name="Acme").customer
    endpoint_create(customer=acme, url="http://127.0.0.1:9/one")
    one, two = tmp_path / "a", tmp_path / "b"
    for folder, n in ((one, "x"), (two, "y")):
        folder.mkdir()
        (folder / "leads.csv").write_text(CSV.format(n=n))
    batch = services.batch_create(
        files=[open_upload(str(one / "leads.csv")), open_upload(str(two / "leads.csv"))],
        queue=False,
        customer=acme,
    )
    batch_process_inline(batch=batch)
    Delivery.objects.update(status=DeliveryStatus.DELIVERED, delivered_at=timezone.now())
    before = rows_of(client.get(REPORT, {"format": "csv", "period": "month"}))

    batch_purge(batch=batch, report=PurgeReport(cutoff=timezone.now()), now=timezone.now())

    assert before[0]["delivered"] == "6"
    assert rows_of(client.get(REPORT, {"format": "csv", "period": "month"})) == before


def test_a_failed_batchs_valid_leads_stay_counted_after_its_purge(client, settings, tmp_path):
    settings.CHUNK_SIZE = 2
    client.force_login(User.objects.create_superuser("root", password="pw"))
    acme = customer_create(slug="acme", name="Acme").customer
    leads = tmp_path / "acme.csv"
    leads.write_text(CSV.format(n="x"))
    batch = services.batch_create(files=[open_upload(str(leads))], queue=False, customer=acme)
    (first, last), _ = services.batch_split(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)
    services.batch_fail(batch_pk=batch.pk, reason="the worker was lost")
    before = rows_of(client.get(REPORT, {"format": "csv", "period": "month"}))

    batch_purge(batch=batch, report=PurgeReport(cutoff=timezone.now()), now=timezone.now())

    assert before[0]["validated"] == "2"
    assert rows_of(client.get(REPORT, {"format": "csv", "period": "month"})) == before


def test_scoped_staff_see_only_their_customers_figures(client, activity):
    member = User.objects.create_user("member", password="pw", is_staff=True)
    member.groups.add(Group.objects.get(name="Customer viewers"))
    activity.members.add(member)
    client.force_login(member)

    rows = rows_of(client.get(REPORT, {"format": "csv"}))

    assert {row["customer"] for row in rows} == {"acme"}


def test_staff_who_may_read_the_report_find_it_in_the_console(client, activity):
    member = User.objects.create_user("member", password="pw", is_staff=True)
    member.groups.add(Group.objects.get(name="Customer operators"))
    activity.members.add(member)
    nobody = User.objects.create_user("nobody", password="pw", is_staff=True)

    client.force_login(member)
    assert REPORT in client.get("/admin/").content.decode()
    client.force_login(nobody)
    assert REPORT not in client.get("/admin/").content.decode()


def test_the_default_range_is_the_last_31_days_today_included(client, activity):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    today = timezone.localtime().date()

    page = client.get(REPORT).content.decode()

    assert f'value="{(today - timedelta(days=30)).isoformat()}"' in page
    assert f'value="{(today - timedelta(days=31)).isoformat()}"' not in page


def test_day_periods_and_no_cell_starts_a_formula(client, activity):
    Delivery.objects.filter(status=DeliveryStatus.REJECTED).update(
        rejected_reason='=HYPERLINK("http://evil.example","x")'
    )
    client.force_login(User.objects.create_superuser("root", password="pw"))

    rows = rows_of(client.get(REPORT, {"format": "csv", "period": "day"}))

    acme = next(row for row in rows if row["customer"] == "acme")
    assert acme["period"] == timezone.localtime().strftime("%Y-%m-%d")
    assert acme["reasons"] == '\'=HYPERLINK("http://evil.example","x") (1)'


def test_by_month_the_default_range_holds_whole_months(client, activity):
    # The first day of the month before last: always more than 31 days ago, and its month is
    # one of the twelve shown by default.
    today = timezone.localtime()
    year, month = (
        (today.year, today.month - 2) if today.month > 2 else (today.year - 1, 10 + today.month)
    )
    early = timezone.make_aware(datetime(year, month, 1, 12))
    Delivery.objects.filter(status=DeliveryStatus.DELIVERED, lead__first_name="John").update(
        delivered_at=early
    )
    client.force_login(User.objects.create_superuser("root", password="pw"))

    rows = rows_of(client.get(REPORT, {"format": "csv", "period": "month"}))
    by_day = rows_of(client.get(REPORT, {"format": "csv", "period": "day"}))

    delivered = {(row["customer"], row["period"]): row["delivered"] for row in rows}
    assert delivered[("acme", f"{year}-{month:02d}")] == "1"  # John, on both endpoints
    assert delivered[("acme", today.strftime("%Y-%m"))] == "1"  # Jane
    assert sum(int(row["delivered"]) for row in by_day) == 1, "by day: the last 31 days"


@pytest.mark.parametrize("param", ["since", "until"])
def test_a_date_that_is_not_one_is_said_on_the_page_and_refused_for_the_csv(
    client, activity, param
):
    client.force_login(User.objects.create_superuser("root", password="pw"))

    page = client.get(REPORT, {param: "2026-13-45"})
    export = client.get(REPORT, {param: "2026-13-45", "format": "csv"})

    assert page.status_code == 200
    assert "\u201c2026-13-45\u201d is not a date (YYYY-MM-DD)" in page.content.decode()
    assert export.status_code == 400
    assert "2026-13-45" in export.content.decode()
    assert "instead" not in export.content.decode()  # the refused file shows nothing


def test_switching_from_day_to_month_shows_the_months_own_default_range(client, activity):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    day_view = client.get(REPORT)
    since = day_view.context["since"]

    switched = client.get(
        REPORT,
        {"shown": "day", "period": "month", "since": since, "until": day_view.context["until"]},
    )
    kept = client.get(REPORT, {"shown": "month", "period": "month", "since": since})

    first_of_month = switched.context["since"]
    assert first_of_month.endswith("-01") and first_of_month < since
    assert kept.context["since"] == since  # a range chosen in the month view stays
