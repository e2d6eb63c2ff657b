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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--leads", type=int, default=100_000, help="leads per batch")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    with scratch_django(args.pg, "console"):
        from bench.grown import fill_grown

        fill_grown(batches=args.batches, leads=args.leads)
        measure()


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
