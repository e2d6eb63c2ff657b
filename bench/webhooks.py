"""Benchmark: webhook sending through a real worker into loopback receivers, per endpoint.

Runs against PostgreSQL and Redis (a scratch database it creates and drops; the Redis db
given is flushed before and after). Customers and endpoints are made with the customers
services, as the admin makes them; the deliveries are written directly in bulk, due now
(a customer's batch fans out to each of its endpoints, lead by lead, as validation does);
`webhooks.sweep` is queued at once and then every WEBHOOK_SWEEP_SECONDS, as beat would, and
a `-Q webhooks` worker sends. Each endpoint has its own receiver process
(bench/timed_receiver.py), which verifies every signature and notes each arrival: every
figure below is measured at the receivers.

  a  one customer, one endpoint, no rate limit: deliveries/s (--leads deliveries)
  b  two customers with two endpoints each, at once, no rate limit: deliveries/s in all
     (--leads deliveries: --leads/4 leads per customer, each to both of its endpoints);
     a and b run in turn, --rounds times, so they are compared on the same machine state
  c  one endpoint limited to --rate-limit while the other three run unlimited: its rate
     measured at its receiver and the error against the limit (target within 5 %), over
     its whole run and while the others were sending too, and the others' rate meanwhile
  d  one endpoint sending at 10/s, its rate changed as an operator does (the service
     behind PATCH /api/endpoints/<id>) to 50, back to 10, then to 0 (unlimited): the time
     from each change to the first request at the new spacing, and the rate after it

    python bench/webhooks.py                              # 10,000 deliveries, 3 rounds of a/b, c, d
    python bench/webhooks.py --leads 20000 --rounds 5     # more of each
    python bench/webhooks.py --only c,d --rate-limit 30   # just the limits
    python bench/webhooks.py --only a,b --one-receiver    # all endpoints on one receiver

The receivers run in one process on one event loop, each endpoint on a port of its own,
so a and b get the same receiving capacity and differ only in the sending (four receiver
processes take more of a small machine's CPU from the worker than one does):
--receiver-processes runs a process per endpoint instead, --one-receiver puts every
endpoint on one port (by path).
"""

import argparse
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIOS = ("a", "b", "c", "d")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "-n", "--leads", type=int, default=10_000, help="deliveries per a/b run (10,000)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="a/b runs, taken in turn (3)")
    parser.add_argument(
        "--rate-limit", type=float, default=50, help="the limited endpoint's rate in c (50/s)"
    )
    parser.add_argument(
        "--limited-seconds", type=float, default=10, help="how long c's limited endpoint runs"
    )
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios (a,b,c,d)")
    parser.add_argument(
        "--one-receiver",
        action="store_true",
        help="every endpoint on one receiver process (by path), not one process each",
    )
    parser.add_argument(
        "--receiver-processes",
        action="store_true",
        help="a receiver process per endpoint, not one process with a port per endpoint",
    )
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="flushed!")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if not only <= set(SCENARIOS):
        parser.error(f"--only: scenarios are {', '.join(SCENARIOS)}")
    args.only = only

    db_name = f"bench_wh_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{db_name}",
        "CELERY_BROKER_URL": args.redis,
        "WEBHOOK_SECRET": "",
        "WEBHOOK_URL": "",
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "WEBHOOK_RATE_LIMIT": "0",
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
    processes = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        urls = []
        ports = 1 if args.one_receiver else 4  # a port per endpoint
        for _ in range(ports if args.receiver_processes else 1):
            each = 1 if args.receiver_processes else ports
            receiver = subprocess.Popen(
                [sys.executable, "bench/timed_receiver.py", "--ports", str(each)],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
            processes.append(receiver)
            for _ in range(each):
                url = receiver.stdout.readline().decode().strip()  # printed once listening
                if not url.startswith("http://"):
                    raise SystemExit("a receiver did not start")
                urls.append(url)
        # Its stdout is the banner; errors go to stderr.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "valify", "worker", "--loglevel", "WARNING",
             "--concurrency", str(args.concurrency), "--without-mingle", "--without-gossip",
             "--without-heartbeat", "-Q", "webhooks"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        processes.append(worker)
        from bench.webhook_scenarios import run

        run(args, urls, worker.pid)
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        redis.Redis.from_url(args.redis).flushdb()


if __name__ == "__main__":
    main()
