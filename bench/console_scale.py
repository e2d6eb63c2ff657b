"""Benchmark: the operator's pages and the senders' cap read on a database that has grown.

Creates a scratch database on the server of --pg (dropped afterwards) and fills it, in SQL,
with --batches completed batches of --leads leads each, one a day up to an hour ago, every
lead with a delivery (due a day after validation: delivered, 1 in 50 failed, the newest
batch's still scheduled), as months of use leave it. Then times, through Django's test
client as a superuser, the admin pages an operator opens every day, and the read a sender
makes every page when a customer has a daily cap. Each figure is the better of two
requests; the query count is per page.

    python bench/console_scale.py                          # 30 batches of 100,000 leads
    python bench/console_scale.py --batches 10 --leads 20000
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_django  # noqa: E402

LEAD_COLUMNS = (
    "batch_id, seq, source_file, worksheet, row_number, lead_id, first_name, last_name, "
    "dob_raw, dob, email, phone, company, website, postcode, reference, consent_source, "
    "consent_text, extra, raw, malformed, status, errors, failure_reason, validated_at, "
    "created_at, enrichment, ai"
)
DELIVERY_COLUMNS = (
    "msg_id, batch_id, lead_id, lead_key, payload, status, endpoint, due_at, next_attempt_at, "
    "attempts, last_error, created_at, updated_at, delivered_at"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--leads", type=int, default=100_000, help="leads per batch")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    with scratch_django(args.pg, "console"):
        fill(args)
        measure()


def fill(args) -> None:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from batches.models import BatchJob, BatchStatus
    from customers.models import Customer

    customer = Customer.objects.get(slug="default")
    now = timezone.now()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for day in range(args.batches, 0, -1):
            at = now - timedelta(days=day - 1, hours=1)
            batch = BatchJob.objects.create(
                customer=customer,
                status=BatchStatus.COMPLETED,
                total_leads=args.leads,
                processed_leads=args.leads,
            )
            BatchJob.objects.filter(pk=batch.pk).update(
                created_at=at, started_at=at, completed_at=at, progress_at=at
            )
            cursor.execute(
                f"INSERT INTO leads_leadvalidation ({LEAD_COLUMNS}) "
                "SELECT %(batch)s, g, 'leads.csv', '', g + 1, "
                "'john' || g || '.smith' || %(batch)s || '.01011980', 'John', 'Smith', "
                "'01/01/1980', '1980-01-01', '', '', '', '', '', '', '', '', '{}', "
                "'{\"first_name\": \"John\"}', '', "
                "CASE WHEN g %% 12 = 0 THEN 'invalid' ELSE 'valid' END, "
                "CASE WHEN g %% 12 = 0 THEN '[\"dob_unparseable\"]' ELSE '[]' END::jsonb, '', "
                "%(at)s + g * interval '1 ms', %(at)s, '{}', '{}' "
                "FROM generate_series(1, %(leads)s) g",
                {"batch": batch.pk, "at": at, "leads": args.leads},
            )
            cursor.execute(
                f"INSERT INTO webhooks_delivery ({DELIVERY_COLUMNS}) "
                "SELECT 'msg_' || md5(l.id::text), l.batch_id, l.id, l.lead_id, "
                '\'{"event":"lead.validated"}\', '
                "CASE WHEN l.validated_at + interval '1 day' > now() THEN 'scheduled' "
                "WHEN l.seq %% 50 = 0 THEN 'failed' ELSE 'delivered' END, "
                "'https://receiver.example/hook', l.validated_at + interval '1 day', "
                "l.validated_at + interval '1 day', 1, '', l.validated_at, "
                "LEAST(l.validated_at + interval '1 day', now()), "
                "CASE WHEN l.validated_at + interval '1 day' > now() OR l.seq %% 50 = 0 "
                "THEN NULL ELSE l.validated_at + interval '1 day' END "
                "FROM leads_leadvalidation l WHERE l.batch_id = %(batch)s ORDER BY l.seq",
                {"batch": batch.pk},
            )
        cursor.execute("VACUUM ANALYZE")
    total = args.batches * args.leads
    print(
        f"filled                {args.batches} batches, {total:,} leads and deliveries "
        f"({time.perf_counter() - started:.0f} s)"
    )


def measure() -> None:
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from batches.models import BatchJob
    from webhooks.selectors import delivered_since_by_customer

    # As deployed but without collectstatic's manifest: static URLs unhashed.
    plain = "django.contrib.staticfiles.storage.StaticFilesStorage"
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": plain}}).enable()
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", None)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    oldest, newest = BatchJob.objects.order_by("pk")[:1].get(), BatchJob.objects.latest("pk")
    pages = [
        ("admin index (dashboard)", "/admin/"),
        ("batch list", "/admin/batches/batchjob/"),
        ("batch page", f"/admin/batches/batchjob/{newest.pk}/change/"),
        ("delivery list", "/admin/webhooks/delivery/"),
        (
            "deliveries of the oldest batch",
            f"/admin/webhooks/delivery/?batch__id__exact={oldest.pk}",
        ),
        ("failed deliveries", "/admin/webhooks/delivery/?status__exact=failed"),
        ("lead list", "/admin/leads/leadvalidation/"),
        ("delivered leads report", "/admin/reports/deliveredleads/"),
    ]
    for label, url in pages:
        best, queries = float("inf"), 0
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                status = client.get(url).status_code
                best = min(best, time.perf_counter() - started)
            queries = len(captured.captured_queries)
        print(f"{label:<31} {best:6.2f} s  {queries:3d} queries  (HTTP {status})")
    since = timezone.now() - timedelta(hours=24)  # a day's deliveries, as at 23:59
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        delivered_since_by_customer(since)
        timings.append(time.perf_counter() - started)
    print(f"{'daily-cap read (per page)':<31} {min(timings) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
