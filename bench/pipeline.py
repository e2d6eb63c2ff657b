"""Benchmark: N generated leads from upload to `completed` through a real worker.

Runs against PostgreSQL and Redis (a scratch database it creates and drops) and prints
leads/s, the time of each phase and the worker's peak RSS.

    python bench/pipeline.py                 # 10,000 leads
    python bench/pipeline.py -n 100000       # raises MAX_LEADS_PER_BATCH for the run
"""

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
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
    args = parser.parse_args()

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
    }
    if args.chunk_size:
        env["CHUNK_SIZE"] = str(args.chunk_size)
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
            worker.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(
            f"{args.pg.replace('postgres://', 'postgresql://')}/postgres", autocommit=True
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", str(media)], check=False)


class PeakRSS(threading.Thread):
    """Sample the worker tree's RSS every 20 ms: the largest process and the whole tree."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.peak_process = self.peak_tree = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                rss = [p.memory_info().rss for p in procs]
            except psutil.Error:
                continue
            self.peak_process = max(self.peak_process, *rss)
            self.peak_tree = max(self.peak_tree, sum(rss))
            time.sleep(0.02)


def run(args, worker_pid: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from batches.services import batch_create
    from tests.leadgen import generate_leads
    from valify.celery import app

    generated = generate_leads(args.leads, seed=1, contact=not args.no_contact)
    wait_ready(app)
    sampler = PeakRSS(worker_pid)
    sampler.start()
    time.sleep(0.5)
    idle_rss = sampler.peak_process

    upload = SimpleUploadedFile("bench.csv", generated.content, content_type="text/csv")
    cpu_before = cpu_seconds(worker_pid)
    t0 = time.perf_counter()
    batch = batch_create(files=[upload])
    t_upload = time.perf_counter() - t0
    while True:
        batch.refresh_from_db()
        if batch.is_final:
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - t0
    cpu_after = cpu_seconds(worker_pid)
    sampler.stop.set()
    sampler.join()

    split_done = batch.started_at.timestamp() + (batch.split_seconds or 0)
    chunks = batch.progress_at.timestamp() - split_done
    finalize = batch.completed_at.timestamp() - batch.progress_at.timestamp()
    size_mb = len(generated.content) / 1048576
    columns = "first_name,last_name,dob" if args.no_contact else "+ email, phone, company"
    print(f"leads                 {batch.total_leads:,} ({size_mb:.1f} MB CSV; {columns})")
    print(f"status                {batch.status}")
    print(
        f"valid/invalid/dup     {batch.valid_count:,} / {batch.invalid_count:,} / "
        f"{batch.duplicate_count:,}"
    )
    print(f"upload -> completed   {elapsed:.2f} s   ({batch.total_leads / elapsed:,.0f} leads/s)")
    print(f"  upload (check+store) {t_upload:.2f} s")
    print(f"  queue -> split start {(batch.started_at - batch.created_at).total_seconds():.2f} s")
    print(f"  split               {batch.split_seconds:.2f} s")
    print(f"  chunks              {chunks:.2f} s")
    print(f"  finalize            {finalize:.2f} s")
    print(
        f"CPU used              worker {cpu_after['worker'] - cpu_before['worker']:.2f} s, "
        f"PostgreSQL {cpu_after['postgres'] - cpu_before['postgres']:.2f} s "
        f"(2 cores x {elapsed:.2f} s = {2 * elapsed:.2f} s available)"
    )
    print(
        f"worker peak RSS       {sampler.peak_process / 1048576:.0f} MB per process "
        f"(idle {idle_rss / 1048576:.0f} MB), {sampler.peak_tree / 1048576:.0f} MB whole pool"
    )


def cpu_seconds(worker_pid: int) -> dict[str, float]:
    """CPU time used so far by the worker tree and by all PostgreSQL server processes."""
    import psutil

    root = psutil.Process(worker_pid)
    worker = sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])
    postgres = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] and proc.info["name"].startswith("postgres"):
            with contextlib.suppress(psutil.Error):
                postgres += sum(proc.cpu_times()[:2])
    return {"worker": worker, "postgres": postgres}


def wait_ready(app, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit("worker did not answer")


if __name__ == "__main__":
    main()
