"""Benchmark: N due webhook deliveries drained by a real worker into the fast local receiver.

Runs against PostgreSQL and Redis (a scratch database it creates and drops). The deliveries
are written directly in bulk, due now; one `webhooks.sweep` is queued (then one every
WEBHOOK_SWEEP_SECONDS, as beat would) and the worker (-Q webhooks) sends them to
`tests/receiver.py` running in its own process. Prints deliveries/s, p50/p99 latency from
due (the sweep's start: the rows fell due while being written) to received (the receiver's
answer, on the database clock) and the receiver's own ceiling, measured in the same run.

    python bench/webhooks.py                            # 20,000 deliveries, no rate limit
    python bench/webhooks.py --rate-limit 50 -n 1000    # WEBHOOK_RATE_LIMIT=50
"""

import argparse
import base64
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--deliveries", type=int, default=20_000)
    parser.add_argument("--rate-limit", type=float, default=0, help="WEBHOOK_RATE_LIMIT (0 = off)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--port", type=int, default=0, help="receiver port (0: any free one)")
    args = parser.parse_args()

    db_name = f"valify_bench_wh_{uuid.uuid4().hex[:8]}"
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{db_name}",
        "CELERY_BROKER_URL": args.redis,
        "WEBHOOK_SECRET": secret,
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "WEBHOOK_RATE_LIMIT": str(args.rate_limit),
        "WEBHOOK_DRAINERS": str(args.concurrency),
        "LOG_LEVEL": "WARNING",
        # As deployed: with DEBUG on, Django also records every query the worker runs.
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
    }
    os.environ.update(env)

    import psycopg
    import redis

    admin_url = f"{args.pg.replace('postgres://', 'postgresql://')}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{db_name}"')
    redis.Redis.from_url(args.redis).flushdb()
    receiver = worker = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        receiver = subprocess.Popen(
            [sys.executable, "tests/receiver.py", "--port", str(args.port), "--secret", secret,
             "--no-keep"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        url = receiver.stdout.readline().decode().strip()  # it prints its URL once listening
        if not url.startswith("http://"):
            raise SystemExit("the receiver did not start")
        env["WEBHOOK_URL"] = os.environ["WEBHOOK_URL"] = url
        from tests.receiver import measure_ceiling

        ceiling = measure_ceiling(url, seconds=2.0)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "valify", "worker", "--loglevel", "WARNING",
             "--concurrency", str(args.concurrency), "--without-mingle", "--without-gossip",
             "--without-heartbeat", "-Q", "webhooks"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        run(args, ceiling)
    finally:
        for process in (worker, receiver):
            if process:
                process.terminate()
                process.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        redis.Redis.from_url(args.redis).flushdb()


def run(args, ceiling: float) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection

    from valify.celery import app
    from webhooks.models import OPEN_STATUSES, Delivery
    from webhooks.tasks import sweep

    wait_ready(app)
    n = args.deliveries
    due = create_due_deliveries(n)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        started = cursor.fetchone()[0]
    t0 = time.monotonic()
    sweep.delay()
    next_sweep = t0 + settings.WEBHOOK_SWEEP_SECONDS
    # Polls the partial index of open deliveries: cheap, so it does not slow the worker.
    still_open = Delivery.objects.filter(status__in=OPEN_STATUSES)
    while still_open.exists():
        if time.monotonic() >= next_sweep:  # beat's part, for runs longer than one sweep
            sweep.delay()
            next_sweep += settings.WEBHOOK_SWEEP_SECONDS
        time.sleep(0.05)
    wall = time.monotonic() - t0
    delivered = Delivery.objects.filter(status="delivered").count()
    if delivered != n:
        raise SystemExit(f"only {delivered:,} of {n:,} delivered: see the worker's output")

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT max(delivered_at), min(delivered_at),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY delivered_at - due),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY delivered_at - due),
                   sum(attempts)
            FROM (
                -- Due from the sweep's start: the rows were due while they were written.
                SELECT delivered_at, attempts, greatest(due_at, %s) AS due
                FROM webhooks_delivery
            ) AS sent
            """,
            [started],
        )
        last, first, p50, p99, attempts = cursor.fetchone()
    elapsed = (last - started).total_seconds()
    steady = (n - 1) / max((last - first).total_seconds(), 1e-9)
    limit = f"{args.rate_limit:g}/s" if args.rate_limit else "off"
    print(f"deliveries            {n:,} due at once ({due}), rate limit {limit}")
    print(f"worker                {args.concurrency} processes, -Q webhooks")
    print(f"sweep -> all received {elapsed:.2f} s   ({n / elapsed:,.0f} deliveries/s)")
    print(f"first -> last         {steady:,.1f} deliveries/s (steady rate)")
    print(
        f"latency due->received p50 {p50.total_seconds():.2f} s   p99 {p99.total_seconds():.2f} s"
    )
    print(f"attempts              {attempts:,} (1 per delivery = no retries, no re-sends)")
    print(f"receiver ceiling      {ceiling:,.0f} requests/s (4 keep-alive clients, same run)")
    print(f"bench wall clock      {wall:.2f} s")


def create_due_deliveries(n: int) -> str:
    """COPY n deliveries of one batch, due now; return the payload size."""
    from django.db import transaction
    from django.utils import timezone

    from batches.models import BatchJob
    from valify.bulk import insert_rows
    from webhooks.models import Delivery
    from webhooks.signing import new_message_id

    now = timezone.now()
    batch = BatchJob.objects.create(status="completed")
    columns = ("msg_id", "batch_id", "lead_key", "payload", "status", "endpoint", "due_at",
               "next_attempt_at", "attempts", "last_error", "created_at", "updated_at")  # fmt: skip

    def payload(i: int) -> str:
        return json.dumps(
            {
                "id": f"jose.nunez{i}.15031990",
                "first_name": "José",
                "last_name": f"Núñez{i}",
                "dob": "15/03/1990",
                "validation_status": "valid",
                "validation_errors": [],
                "validation_timestamp": "2026-01-15T10:30:00Z",
                "batch_id": batch.batch_id,
                "webhook_scheduled_for": "2026-01-16T10:30:00Z",
                "validation_messages": [],
            },
            ensure_ascii=False,
        )

    rows = (
        (new_message_id(), batch.pk, f"jose.nunez{i}.15031990", payload(i), "scheduled", "",
         now, now, 0, "", now, now)
        for i in range(n)
    )  # fmt: skip
    with transaction.atomic():
        insert_rows(Delivery, columns, rows)
    return f"{len(payload(0).encode())} B payloads"


def wait_ready(app, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit("worker did not answer")


if __name__ == "__main__":
    main()
