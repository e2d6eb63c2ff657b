"""Benchmark: the AI standardiser's path against a local OpenAI-compatible fake, and its cache.

Starts the fake model (tests/aifake.py, real HTTP on loopback, answering after --latency
seconds), creates a scratch database on the server of --pg (dropped afterwards; --sqlite for
the embedded defaults), then validates in this process an N-row batch whose every row the
rules cannot read ("SMITH Name123" in the last-name column, the date of birth in words), and
the same rows again as a second batch. Prints rows/s through the AI path, calls made, the
most calls in flight, and the second batch's cache hit rate.

    python bench/ai.py                      # 1,000 rows, 50 ms a call, AI_CONCURRENCY 4
    python bench/ai.py -n 2000 --latency 0.2 --concurrency 8
    python bench/ai.py --sqlite
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rows", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake takes")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--sqlite", action="store_true", help="the embedded defaults instead")
    args = parser.parse_args()

    from tests.aifake import FakeModelServer

    with FakeModelServer() as model, tempfile.TemporaryDirectory() as scratch:
        model.delay = args.latency
        env = {
            "VALIFY_VAR_DIR": scratch,
            "LOG_LEVEL": "WARNING",
            "AI_BASE_URL": model.base_url,
            "AI_MODEL": "fake-1",
            "AI_CONCURRENCY": str(args.concurrency),
            "AI_MAX_CALLS_PER_BATCH": str(args.rows),
            "ENRICH_CHUNK_BUDGET_SECONDS": "3600",
            "MAX_LEADS_PER_BATCH": str(max(args.rows, 10_000)),
        }
        db_name = f"valify_bench_ai_{uuid.uuid4().hex[:8]}"
        admin_url = f"{args.pg.replace('postgres://', 'postgresql://')}/postgres"
        if not args.sqlite:
            import psycopg

            env["DATABASE_URL"] = f"{args.pg}/{db_name}"
            with psycopg.connect(admin_url, autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{db_name}"')
        else:
            os.environ.pop("DATABASE_URL", None)
        os.environ.update(env)
        try:
            import django

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
            django.setup()
            from django.core.management import call_command

            call_command("migrate", "--noinput", verbosity=0)
            run(args, model)
        finally:
            if not args.sqlite:
                import psycopg
                from django.db import connections

                connections.close_all()
                with psycopg.connect(admin_url, autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def csv_file(n: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    lines = ["first_name,last_name,dob"]
    for i in range(n):
        day, month, year = 1 + i % 28, MONTHS[i % len(MONTHS)], 1950 + i % 50
        lines.append(f",SMITH Name{i},{day}th {month} {year}")
    return SimpleUploadedFile("leads.csv", ("\n".join(lines) + "\n").encode())


def one_batch(n: int, model) -> tuple[float, int, dict]:
    from batches import services
    from batches.services.inline import batch_process_inline
    from leads.models import LeadValidation
    from standardiser.selectors import ai_counts

    before = len(model.requests)
    batch = services.batch_create(files=[csv_file(n)], queue=False)
    started = time.perf_counter()
    batch = batch_process_inline(batch=batch)
    seconds = time.perf_counter() - started
    counts = ai_counts(leads=LeadValidation.objects.filter(batch=batch))
    return seconds, len(model.requests) - before, counts


def run(args, model) -> None:
    from django.db import connection

    n = args.rows
    print(
        f"{n:,} rows the rules cannot read; fake model {args.latency * 1000:.0f} ms a call; "
        f"AI_CONCURRENCY {args.concurrency}; {connection.vendor}"
    )
    seconds, calls, counts = one_batch(n, model)
    print(
        f"first batch:  {seconds:.2f} s, {n / seconds:,.0f} rows/s through the AI path, "
        f"{calls:,} calls, most in flight {model.most_in_flight}; "
        f"corrected {counts['corrected']:,}, refused {counts['refused']:,}, "
        f"left {counts['no_budget']:,}, failed {counts['failed']:,}"
    )
    ideal = n * args.latency / args.concurrency
    print(f"              (calls alone, {args.concurrency} at a time: {ideal:.2f} s)")
    seconds, calls, counts = one_batch(n, model)
    asked = counts["corrected"] + counts["refused"] + counts["failed"]
    hit_rate = (asked - calls) / asked if asked else 0.0
    print(
        f"second batch: {seconds:.2f} s, {n / seconds:,.0f} rows/s, {calls:,} calls, "
        f"cache hit rate {hit_rate:.1%} (corrected {counts['corrected']:,})"
    )


if __name__ == "__main__":
    main()
