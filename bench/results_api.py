"""Benchmark: reading a whole batch through the results API, page after page, on PostgreSQL.

Creates a scratch database on the server of --pg (dropped afterwards), writes an N-lead batch
directly in bulk (every lead with 5 supplier columns and one delivered webhook, so each row pays
for the CSV's webhook summary), then follows `next` from the first page to the last through
the real view (token auth, history entry per page, JSON), in this process. Prints pages/s,
leads/s and the queries of one page.

    python bench/results_api.py                     # 10,000 leads, limit 1000
    python bench/results_api.py -n 50000 --limit 100
    python bench/results_api.py --status invalid     # every 10th lead: pages skip the rest
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_django  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--leads", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="walks of the whole batch")
    parser.add_argument("--status", default="", help="e.g. invalid: every 10th lead is")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    with scratch_django(args.pg, "api"):
        run(args)


def make_batch(n: int):
    from django.utils import timezone

    from batches.models import BatchFile, BatchJob, BatchStatus
    from leads.models import LeadStatus, LeadValidation
    from webhooks.models import Delivery, DeliveryStatus

    now = timezone.now()
    batch = BatchJob.objects.create(status=BatchStatus.COMPLETED, total_leads=n)
    labels = [f"Column {i}" for i in range(5)]
    BatchFile.objects.create(
        batch=batch,
        position=0,
        name="big.csv",
        row_count=n,
        column_mapping=[{"worksheet": "", "extra": {str(5 + i): h for i, h in enumerate(labels)}}],
    )
    leads = LeadValidation.objects.bulk_create(
        (
            LeadValidation(
                batch=batch,
                seq=seq,
                source_file="big.csv",
                row_number=seq + 1,
                lead_id=f"lead{seq}.smith.01011980",
                first_name=f"Lead{seq}",
                last_name="Smith",
                email=f"lead{seq}@example.com",
                status=LeadStatus.INVALID if seq % 10 == 0 else LeadStatus.VALID,
                validated_at=now,
                extra=dict.fromkeys(labels, f"value {seq}"),
            )
            for seq in range(1, n + 1)
        ),
        batch_size=2000,
    )
    Delivery.objects.bulk_create(
        (
            Delivery(
                batch=batch,
                lead=lead,
                lead_key=lead.lead_id,
                payload={},
                status=DeliveryStatus.DELIVERED,
                due_at=now,
                next_attempt_at=now,
                attempts=1,
                delivered_at=now,
            )
            for lead in leads
        ),
        batch_size=2000,
    )
    return batch


def run(args) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from api.models import ApiToken

    batch = make_batch(args.leads)
    user = User.objects.create_user("bench", is_staff=True)
    user.groups.add(Group.objects.get(name="Viewers"))
    _, plain = ApiToken.issue(name="bench", user=user)
    client = Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {plain}")
    first = f"/api/batches/{batch.batch_id}/leads?limit={args.limit}&status={args.status}"

    times, pages, leads = [], 0, 0
    for _ in range(args.runs):
        url, pages, leads = first, 0, 0
        started = time.perf_counter()
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.content[:200]
            body = response.json()
            pages, leads, url = pages + 1, leads + len(body["results"]), body["next"]
        times.append(time.perf_counter() - started)
    expected = {"": args.leads, "invalid": args.leads // 10, "valid": args.leads - args.leads // 10}
    assert leads == expected.get(args.status, leads), (leads, args.status)
    with CaptureQueriesContext(connection) as queries:
        client.get(first)
    best, median = min(times), statistics.median(times)
    status = f", status={args.status}" if args.status else ""
    print(f"{args.leads:,} leads, limit {args.limit}{status}: {pages} pages, {args.runs} walks")
    print(
        f"  median walk {median:.2f} s: {pages / median:.1f} pages/s, {leads / median:,.0f} leads/s"
    )
    print(f"  best walk   {best:.2f} s: {pages / best:.1f} pages/s, {leads / best:,.0f} leads/s")
    print(f"  queries per page: {len(queries)} (one reads the leads)")


if __name__ == "__main__":
    main()
