"""Integration harness (a pytest plugin): a real Celery worker on the test PostgreSQL and Redis.

The tests here run only with PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL); without
them they are skipped with a line that says so, except when VALIFY_INTEGRATION=required (CI).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def services_configured() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and str(
        settings.CELERY_BROKER_URL
    ).startswith("redis")


def pytest_collection_modifyitems(config, items):
    if services_configured():
        return
    if os.environ.get("VALIFY_INTEGRATION") == "required":
        raise pytest.UsageError("integration tests required but PostgreSQL/Redis not configured")
    skip = pytest.mark.skip(
        reason="integration tests need PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL)"
    )
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


class WorkerProcess:
    """A `celery -A valify worker` in its own process group, so SIGKILL takes the pool too."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        concurrency: int = 2,
        queues: tuple[str, ...] = (),
    ):
        self.env = env
        self.log_dir = log_dir
        self.concurrency = concurrency
        self.queues = queues  # empty: every queue, as deployed
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self, timeout: float = 30) -> "WorkerProcess":
        self.log_path = self.log_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "valify", "worker",
                "--loglevel", "INFO", "--concurrency", str(self.concurrency),
                "--without-mingle", "--without-gossip", "--without-heartbeat",
                "--hostname", f"it-{uuid.uuid4().hex[:6]}@%h",
                *(["-Q", ",".join(self.queues)] if self.queues else []),
            ],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            if b" ready." in self.log_path.read_bytes():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as an OOM kill or a crash would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""


@pytest.fixture(scope="session")
def integration_env(django_db_setup, tmp_path_factory) -> dict[str, str]:
    """Environment for processes that must share this test run's database, broker and files."""
    import redis

    db = settings.DATABASES["default"]
    media = tmp_path_factory.mktemp("shared-media")
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(media),
        "DATABASE_CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
    }


_session_workers: list[WorkerProcess] = []  # the `worker` fixture's, once some test asked for it


@pytest.fixture(scope="session")
def worker(integration_env, tmp_path_factory):
    # Not the webhooks queue: this worker has no webhook settings and lives for the whole
    # session, so a sweep it took from the webhook tests' own worker would send nothing
    # (with beat's sweeps one second apart, it could take every one of them).
    process = WorkerProcess(
        integration_env, tmp_path_factory.mktemp("worker-logs"), queues=("batches", "celery")
    ).start()
    _session_workers.append(process)
    yield process
    _session_workers.remove(process)
    process.stop()


@pytest.fixture
def without_session_worker():
    """Pause the session's worker, if an earlier test started it, for a test whose own worker
    (with settings of its own) must run every chunk of its batch: the session's would take
    some, on its settings. It is started again afterwards."""
    paused = [process for process in _session_workers if process.proc.poll() is None]
    for process in paused:
        process.stop()
    yield
    for process in paused:
        process.start()


@pytest.fixture
def shared_media(settings, integration_env):
    settings.MEDIA_ROOT = integration_env["MEDIA_ROOT"]


def wait_for(predicate, *, timeout: float, interval: float = 0.05, message=""):
    """Poll `predicate` until it is true; `message` may be a callable, so that the logs it
    quotes are read when the wait fails rather than when it starts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    text = message() if callable(message) else message
    raise AssertionError(f"timed out after {timeout}s waiting for {text or predicate}")
