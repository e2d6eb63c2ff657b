"""Parts for fault scenarios: a private Redis to restart, beat processes, DB-safe polling.

Shared by tests/integration/test_faults.py and bench/faults.py. The private Redis keeps the
machine's own Redis (and anything else using it) out of harm's way when a scenario kills it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

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
