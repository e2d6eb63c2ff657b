"""Parts for fault scenarios: a private Redis to restart, beat processes, DB-safe polling.

Shared by tests/integration/test_faults.py and bench/faults.py. The private Redis keeps the
machine's own Redis (and anything else using it) out of harm's way when a scenario kills it.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from tests.integration_support import WorkerProcess

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free loopback port, keeping nothing on disk."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self, down_for: float = 1.0) -> None:
        """Kill it (queued and unacknowledged messages are lost) and start it again."""
        self.stop()
        time.sleep(down_for)
        self.start()


class BeatProcess:
    """`celery -A valify beat` with the database scheduler and no pidfile (two may run)."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self) -> "BeatProcess":
        self.log_path = self.log_dir / f"beat-{uuid.uuid4().hex[:6]}.log"
        schedule = self.log_dir / f"beat-{uuid.uuid4().hex[:6]}.db"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "valify", "beat", "--loglevel", "INFO",
             "--pidfile=", "--schedule", str(schedule)],
            cwd=ROOT, env=self.env, stdout=self.log_path.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


class FaultRig:
    """A private Redis, a worker and a beat on one database: what a fault scenario runs on.

    ``env`` is the environment the processes share (database, media, settings); the rig
    points its broker at the private Redis. More beats can be added (``add_beat``).
    """

    def __init__(self, env: dict[str, str], log_dir: Path, *, concurrency: int = 2):
        self.redis = PrivateRedis()
        self.env = dict(env)
        self.log_dir = log_dir
        self.concurrency = concurrency
        self.worker: WorkerProcess | None = None
        self.beats: list[BeatProcess] = []

    def start(self) -> "FaultRig":
        self.redis.start()
        self.env["CELERY_BROKER_URL"] = self.redis.url
        try:
            self.worker = WorkerProcess(self.env, self.log_dir, self.concurrency).start()
            self.add_beat()
        except BaseException:
            self.stop()
            raise
        return self

    def add_beat(self) -> BeatProcess:
        beat = BeatProcess(self.env, self.log_dir).start()
        self.beats.append(beat)
        return beat

    def stop(self) -> None:
        for beat in self.beats:
            beat.stop()
        if self.worker is not None:
            self.worker.stop()
        self.redis.stop()


def import_file(path: Path, env: dict[str, str]) -> str:
    """Queue a batch with `manage.py import_batch FILE --json` in its own process: its batch id."""
    result = subprocess.run(
        [sys.executable, "manage.py", "import_batch", str(path), "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)["batch_id"]


def outcome_problems(batch_pk: int, generated) -> list[str]:
    """What is wrong with a finished batch, compared with the generated file it came from.

    Right is: completed, every row in exactly one final state with the file's counts (rows
    and batch totals), and one delivery per non-duplicate lead. Empty when all is right.
    """
    from django.db.models import Count

    from batches.models import BatchJob
    from leads.models import LeadValidation
    from webhooks.models import Delivery

    batch = BatchJob.objects.get(pk=batch_pk)
    expected = {
        "valid": generated.valid,
        "invalid": generated.invalid,
        "duplicate": generated.duplicate,
    }
    problems = []
    if batch.status != "completed":
        problems.append(f"batch {batch.status} {batch.error}".strip())
    by_status = dict(
        LeadValidation.objects.filter(batch_id=batch_pk)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    if by_status != expected:
        problems.append(f"leads by status {by_status}, file {expected}")
    totals = {
        "valid": batch.valid_count,
        "invalid": batch.invalid_count,
        "duplicate": batch.duplicate_count,
    }
    if totals != expected:
        problems.append(f"batch counts {totals}, file {expected}")
    per_lead = Delivery.objects.filter(batch_id=batch_pk).values("lead").annotate(n=Count("pk"))
    if per_lead.count() != generated.valid + generated.invalid:
        problems.append(
            f"{per_lead.count()} leads with deliveries, {generated.valid + generated.invalid} "
            "non-duplicate leads in the file"
        )
    twice = per_lead.filter(n__gt=1).count()
    if twice:
        problems.append(f"{twice} leads with more than one delivery")
    return problems


@contextmanager
def scratch_database(server_url: str, env: dict[str, str], prefix: str = "valify_bench"):
    """A new migrated database on ``server_url`` (postgres://user@host:port): yields its URL.

    Dropped on exit, whoever is still connected to it.
    """
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin_url = f"{server_url.replace('postgres://', 'postgresql://', 1)}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{server_url}/{name}"
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT, env={**env, "DATABASE_URL": url}, check=True,
        )  # fmt: skip
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restart_postgresql() -> None:
    """Restart the machine's PostgreSQL cluster (every connection is cut)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
        check=True,
        capture_output=True,
        timeout=120,
    )


def db_safe(query, default=None):
    """Run an ORM read; on a dropped connection close it (Django reconnects) and return default."""
    from django.db import InterfaceError, OperationalError, connection

    try:
        return query()
    except (OperationalError, InterfaceError):
        connection.close()
        return default


def periodic_every_second(task_name: str) -> None:
    """Make a periodic task due every second (tests want the reconciler fast)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task=task_name).update(interval=every, enabled=True)
    PeriodicTasks.update_changed()  # a bulk update sends no signal; tell the scheduler
