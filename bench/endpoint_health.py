"""Benchmark: what endpoint health costs on PostgreSQL, for senders and for the admin.

Creates a scratch database on the server of --pg (dropped afterwards), writes E endpoints of
one customer and an attempt log of N attempts spread over the last 48 hours (half of them in
the admin's 24-hour window), then times, in this process:

- the admin's figures for a page of every endpoint (success rate and p95 latency, one
  query whatever the page's size);
- the health a sender records after each flush of outcomes (a page of 50 to one endpoint),
  next to the cost of recording those outcomes themselves.

    python bench/endpoint_health.py                      # 20 endpoints, 500,000 attempts
    python bench/endpoint_health.py -n 2000000 -e 100
"""

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_django  # noqa: E402

FLUSH = 100  # outcomes per flush, as webhooks.services.page.FLUSH_EVERY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--attempts", type=int, default=500_000)
    parser.add_argument("-e", "--endpoints", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    with scratch_django(args.pg, "health"):
        run(args)


def make_log(endpoints: int, attempts: int):
    """Endpoints, one delivery per 10 attempts, and the attempt log, written by COPY."""
    from django.db import transaction
    from django.utils import timezone

    from batches.models import BatchJob, BatchStatus
    from customers.models import Customer, Endpoint
    from valify.bulk import analyze, insert_rows
    from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus

    rng = random.Random(5)
    now = timezone.now()
    customer = Customer.objects.create(slug="acme", name="Acme", secret="whsec_x")
    made = Endpoint.objects.bulk_create(
        Endpoint(customer=customer, url=f"https://h{i}.acme.example/") for i in range(endpoints)
    )
    batch = BatchJob.objects.create(status=BatchStatus.COMPLETED, customer=customer)
    deliveries = Delivery.objects.bulk_create(
        (
            Delivery(
                batch=batch,
                payload={},
                status=DeliveryStatus.DELIVERED,
                due_at=now,
                next_attempt_at=now,
                customer_endpoint=made[i % endpoints],
            )
            for i in range(max(1, attempts // 10))
        ),
        batch_size=5000,
    )
    codes = (204,) * 90 + (500,) * 6 + (422,) * 2 + (None,) * 2

    def rows():
        for i in range(attempts):
            delivery = deliveries[i % len(deliveries)]
            started = now - timedelta(seconds=rng.uniform(0, 48 * 3600))
            code = rng.choice(codes)
            duration = int(rng.lognormvariate(5, 0.8))
            yield (delivery.pk, i // len(deliveries) + 1, "https://h.acme.example/", started,
                   duration, code, "", "" if code else "timed out")  # fmt: skip

    columns = ("delivery_id", "number", "endpoint", "started_at", "duration_ms", "status_code",
               "response_excerpt", "error")  # fmt: skip
    with transaction.atomic():
        insert_rows(DeliveryAttempt, columns, rows())
    analyze(DeliveryAttempt._meta.db_table, ["delivery_id", "started_at"])
    analyze(Delivery._meta.db_table, ["customer_endpoint_id"])
    return made, deliveries


def timed(fn, runs: int) -> list[float]:
    fn()  # warm: plans, caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def outcomes_for(endpoint, deliveries, status: str):
    from django.utils import timezone

    from webhooks.services.outcomes import Outcome

    now = timezone.now()
    mine = [d for d in deliveries if d.customer_endpoint_id == endpoint.pk][:FLUSH]
    return [
        Outcome(
            delivery_pk=d.pk,
            attempt=1,
            endpoint=endpoint.url,
            started_at=now,
            duration_ms=120,
            status_code=204 if status == "delivered" else 500,
            excerpt="",
            error="" if status == "delivered" else "HTTP 500",
            status=status,
            endpoint_pk=endpoint.pk,
        )
        for d in mine
    ]


def run(args) -> None:
    from webhooks.endpoint_health import endpoints_figures
    from webhooks.services.health import endpoints_health_note
    from webhooks.services.outcomes import deliveries_record_outcomes

    started = time.perf_counter()
    endpoints, deliveries = make_log(args.endpoints, args.attempts)
    print(
        f"{args.endpoints} endpoints, {args.attempts:,} attempts over 48 h "
        f"(written in {time.perf_counter() - started:.1f} s)"
    )
    pks = [e.pk for e in endpoints]
    figures = timed(lambda: endpoints_figures(pks), args.runs)
    sample = endpoints_figures(pks)[pks[0]]
    print(
        f"  admin figures, a page of {len(pks)} endpoints: median "
        f"{statistics.median(figures) * 1000:.0f} ms, best {min(figures) * 1000:.0f} ms "
        f"(one: {sample.attempts:,} attempts, {sample.success_rate:.1%}, p95 "
        f"{sample.p95_ms:.0f} ms)"
    )
    token = uuid.uuid4()  # holds nothing: the UPDATE finds no row, the attempts are written
    for status in ("delivered", "retrying"):
        batch = outcomes_for(endpoints[1], deliveries, status)
        note = timed(lambda b=batch: endpoints_health_note(outcomes=b), args.runs * 5)
        record = timed(
            lambda b=batch: deliveries_record_outcomes(token=token, outcomes=b), args.runs * 5
        )
        print(
            f"  a flush of {len(batch)} {status} outcomes to one endpoint: health "
            f"{statistics.median(note) * 1000:.2f} ms, recording the outcomes "
            f"{statistics.median(record) * 1000:.2f} ms (medians)"
        )


if __name__ == "__main__":
    main()
