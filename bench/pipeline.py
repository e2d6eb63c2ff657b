"""Benchmark: N generated leads from upload to `completed` through a real worker.

Runs against PostgreSQL and Redis (a scratch database it creates and drops) and prints
leads/s, the time of each phase and the worker's peak RSS.

    python bench/pipeline.py                 # 10,000 leads
    python bench/pipeline.py -n 100000       # raises MAX_LEADS_PER_BATCH for the run
    python bench/pipeline.py --in-process    # no worker: each phase's Python and PostgreSQL CPU
    python bench/pipeline.py --in-process --profile   # and where the Python time goes
                                             # (BENCH_PROFILE_SORT=cumulative to sort so)
    python bench/pipeline.py --every-field   # every field and five supplier columns
    python bench/pipeline.py --compare       # required columns only against every field,
                                             # in turn (--rounds each), and their ratio
    python bench/pipeline.py --compare --no-enrich   # the same, no enrichment step in either
    python bench/pipeline.py --compare-enrich --in-process   # every field without and with
                                             # the built-in enrichment steps, and their ratio
"""

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--leads", type=int, default=10_000)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=0, help="CHUNK_SIZE (default: setting)")
    parser.add_argument(
        "--no-contact",
        action="store_true",
        help="Only the required columns (no email, phone or company on the leads).",
    )
    parser.add_argument(
        "--every-field",
        action="store_true",
        help="Every field (reference, postcode, consent date, source and text, website, "
        "email, phone, company) and five supplier columns on the leads.",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="Run the required columns only and --every-field in turn, each in its own "
        "scratch database and worker, and print the ratio of their times.",
    )
    parser.add_argument(
        "--no-enrich", action="store_true", help="LEAD_ENRICHERS empty: no enrichment step."
    )
    parser.add_argument(
        "--compare-enrich",
        action="store_true",
        help="Like --compare, for every field without enrichment against with the built-in "
        "(offline) steps.",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="With --compare: runs of each variant."
    )
    parser.add_argument(
        "--dedupe-on-email",
        action="store_true",
        help="DEDUPE_ON_EMAIL=true: a repeated email is a duplicate too.",
    )
    parser.add_argument(
        "--dedupe-on-phone",
        action="store_true",
        help="DEDUPE_ON_PHONE=true: a repeated phone (in E.164) is a duplicate too.",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="With --in-process: cProfile the split and the chunks, and print where they spend.",
    )
    parser.add_argument(
        "--grown",
        type=int,
        default=0,
        metavar="BATCHES",
        help="First fill the database with this many completed batches of 100,000 leads, "
        "their claims and deliveries (bench/grown.py): the batch then runs beside them.",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="No worker: split and chunks in this process, with each phase's Python and "
        "PostgreSQL CPU (where the time goes, without Celery).",
    )
    args = parser.parse_args()
    if args.compare or args.compare_enrich:
        from bench.variants import COLUMN_VARIANTS, ENRICH_VARIANTS, compare

        compare(
            args,
            script=__file__,
            variants=ENRICH_VARIANTS if args.compare_enrich else COLUMN_VARIANTS,
        )
        return

    db_name = f"valify_bench_{uuid.uuid4().hex[:8]}"
    media = Path(f"/tmp/{db_name}-media")
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{db_name}",
        "CELERY_BROKER_URL": args.redis,
        "MEDIA_ROOT": str(media),
        "MAX_LEADS_PER_BATCH": str(max(args.leads, 10_000)),
        "MAX_UPLOAD_MB": "200",
        "LOG_LEVEL": "WARNING",
        # As deployed: with DEBUG on, Django also records every query the worker runs.
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
        # Only --every-field gives the leads a consent date: the others stay valid as they
        # were before consent could be required, so variants differ only in their columns.
        "CONSENT_REQUIRED": "false",
    }
    if args.chunk_size:
        env["CHUNK_SIZE"] = str(args.chunk_size)
    if args.no_enrich:
        env["LEAD_ENRICHERS"] = ""
    if args.dedupe_on_email:
        env["DEDUPE_ON_EMAIL"] = "true"
    if args.dedupe_on_phone:
        env["DEDUPE_ON_PHONE"] = "true"
    os.environ.update(env)

    import psycopg
    import redis

    with psycopg.connect(
        f"{args.pg.replace('postgres://', 'postgresql://')}/postgres", autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{db_name}"')
    redis.Redis.from_url(args.redis).flushdb()
    worker = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        if args.in_process:
            run_in_process(args)
            return
        log_level = os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "valify", "worker", "--loglevel", log_level,
             "--concurrency", str(args.concurrency), "--without-mingle", "--without-gossip",
             "--without-heartbeat", "-Q", "batches,celery"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        run(args, worker.pid)
    finally:
        if worker:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # Stuck in its warm shutdown (a busy machine): the scratch database must
                # still be dropped below.
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        from django.db import connections

        connections.close_all()
        with psycopg.connect(
            f"{args.pg.replace('postgres://', 'postgresql://')}/postgres", autocommit=True
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", str(media)], check=False)


def rss_mb(worker_pid: int, field: str, source: str = "status") -> list[float]:
    """A /proc field of each worker process, in MB: from `status` VmRSS (now) or VmHWM (the
    peak so far), from `smaps_rollup` Pss (now, shared pages split between their sharers).

    The kernel keeps the peak, so nothing has to sample the worker while it runs (a sampler
    would take CPU from the 2 cores being measured).
    """
    import psutil

    root = psutil.Process(worker_pid)
    values = []
    for proc in [root, *root.children(recursive=True)]:
        with open(f"/proc/{proc.pid}/{source}") as status:
            for line in status:
                if line.startswith(field + ":"):
                    values.append(int(line.split()[1]) / 1024)
    return values


def pool_peak_mb(worker_pid: int) -> float:
    """The whole pool's peak memory, at most: each process's proportional share now (PSS:
    the pages the forked processes share are counted once between them, as RSS does not),
    plus whatever it has given back since its own peak (VmHWM - VmRSS)."""
    pss = rss_mb(worker_pid, "Pss", "smaps_rollup")
    peaks, now = rss_mb(worker_pid, "VmHWM"), rss_mb(worker_pid, "VmRSS")
    return sum(pss) + sum(peak - rss for peak, rss in zip(peaks, now, strict=True))


def run(args, worker_pid: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from batches.models import FINAL_BATCH_STATUSES, BatchJob
    from batches.services import batch_create
    from valify.celery import app

    grow(args)
    generated = leads_for(args)
    speed = machine_speed()
    wait_ready(app)
    idle_rss = max(rss_mb(worker_pid, "VmRSS"))

    upload = SimpleUploadedFile("bench.csv", generated.content, content_type="text/csv")
    cpu_before = cpu_seconds(worker_pid)
    t0, started = time.perf_counter(), time.time()
    batch = batch_create(files=[upload])
    t_upload = time.perf_counter() - t0
    # A light poll: the end time comes from the batch's own completed_at, not from the poll.
    while not BatchJob.objects.filter(pk=batch.pk, status__in=FINAL_BATCH_STATUSES).exists():
        time.sleep(0.05)
    batch.refresh_from_db()
    elapsed = batch.completed_at.timestamp() - started
    cpu_after = cpu_seconds(worker_pid)
    peaks = rss_mb(worker_pid, "VmHWM")
    pool = pool_peak_mb(worker_pid)

    split_done = batch.started_at.timestamp() + (batch.split_seconds or 0)
    chunks = batch.progress_at.timestamp() - split_done
    finalize = batch.completed_at.timestamp() - batch.progress_at.timestamp()
    size_mb = len(generated.content) / 1048576
    columns = columns_for(args)
    print(f"leads                 {batch.total_leads:,} ({size_mb:.1f} MB CSV; {columns})")
    print(speed)
    print(f"status                {batch.status}")
    print(
        f"valid/invalid/dup     {batch.valid_count:,} / {batch.invalid_count:,} / "
        f"{batch.duplicate_count:,}"
    )
    print(f"upload -> completed   {elapsed:.2f} s   ({batch.total_leads / elapsed:,.0f} leads/s)")
    own = (batch.completed_at - batch.created_at).total_seconds()
    print(f"created -> completed  {own:.2f} s   (the batch's own created_at and completed_at)")
    print(f"  upload (check+store) {t_upload:.2f} s")
    print(f"  queue -> split start {(batch.started_at - batch.created_at).total_seconds():.2f} s")
    print(f"  split               {batch.split_seconds:.2f} s")
    print(f"  chunks              {chunks:.2f} s")
    print(f"  finalize            {finalize:.2f} s")
    used = {key: cpu_after[key] - cpu_before[key] for key in cpu_after}
    cores = os.cpu_count()
    print(
        f"CPU used              worker {used['worker']:.2f} s, whole machine "
        f"{used['machine']:.2f} s ({cores} cores x {elapsed:.2f} s = {cores * elapsed:.2f} s)"
    )
    print(
        f"worker peak RSS       {max(peaks):.0f} MB per process (idle {idle_rss:.0f} MB); "
        f"whole pool at most {pool:.0f} MB counting shared pages once "
        f"({sum(peaks):.0f} MB counting them in each process)"
    )


def grow(args) -> None:
    if args.grown:
        from bench.grown import fill_grown

        fill_grown(batches=args.grown, leads=100_000)


def leads_for(args):
    """The generated file of this run's variant (the same people and outcomes in each)."""
    from tests.leadgen import generate_leads

    return generate_leads(
        args.leads, seed=1, contact=not args.no_contact, every_field=args.every_field
    )


def columns_for(args) -> str:
    if args.every_field:
        return "every field + 5 supplier columns"
    return "first_name,last_name,dob" if args.no_contact else "+ email, phone, company"


def machine_speed(sample: int = 2000) -> str:
    """The µs per lead validate_lead() takes on one core, over a fixed sample of leads.

    The same code runs at very different speeds on different machines (and on one shared
    machine from hour to hour); this figure lets two runs be compared. Best of three.
    """
    import csv
    import io

    from batches.services.chunks import configured_rules
    from leads.rules import validate_lead
    from tests.leadgen import generate_leads

    # Three disjoint samples: every phone is new to the rules' cache each time, as in a file.
    content = generate_leads(3 * sample, seed=2, contact=True).content.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(content)))
    ctx, validators = configured_rules(today=date.today())
    best = float("inf")
    for start in range(0, 3 * sample, sample):
        started = time.process_time()
        for row in rows[start : start + sample]:
            validate_lead(row, ctx=ctx, validators=validators)
        best = min(best, time.process_time() - started)
    return (
        f"machine speed         {best / sample * 1e6:.0f} µs per lead, the rules alone on one core"
    )


def run_in_process(args) -> None:
    """Split and validate a batch in this process, timing each phase's CPU on both sides."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
    django.setup()
    import psutil
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    from batches.services import batch_create, batch_finalize, batch_split, chunk_validate

    grow(args)
    generated = leads_for(args)
    print(machine_speed())
    upload = SimpleUploadedFile("bench.csv", generated.content, content_type="text/csv")
    batch = batch_create(files=[upload], queue=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = psutil.Process(cursor.fetchone()[0])

    def clocks() -> tuple[float, float, float]:
        return time.perf_counter(), time.process_time(), sum(backend.cpu_times()[:2])

    def report(name: str, before: tuple[float, float, float]) -> None:
        wall, python, postgres = (now - then for now, then in zip(clocks(), before, strict=True))
        print(
            f"  {name:<8} wall {wall:6.2f} s   Python {python:6.2f} s   "
            f"PostgreSQL {postgres:6.2f} s"
        )

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    print(f"leads                 {args.leads:,}, one process, no Celery; {columns_for(args)}")
    start = clocks()
    if profiler:
        profiler.enable()
    ranges = batch_split(batch_pk=batch.pk)
    report("split", start)
    start = clocks()
    for first, last in ranges:
        chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)
    if profiler:
        profiler.disable()
    report("chunks", start)
    start = clocks()
    batch_finalize(batch_pk=batch.pk)
    report("finalize", start)
    if profiler:
        import pstats

        order = os.environ.get("BENCH_PROFILE_SORT", "tottime")
        pstats.Stats(profiler).sort_stats(order).print_stats(30)


def cpu_seconds(worker_pid: int) -> dict[str, float]:
    """CPU time used so far by the worker tree, and by the whole machine.

    The machine's figure covers PostgreSQL and Redis too, whose per-connection processes
    may come and go during a run (their time would be lost if counted per process).
    """
    import psutil

    root = psutil.Process(worker_pid)
    worker = sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])
    machine = psutil.cpu_times()
    busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq
    return {"worker": worker, "machine": busy + machine.steal}


def wait_ready(app, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit("worker did not answer")


if __name__ == "__main__":
    main()
