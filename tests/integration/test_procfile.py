"""The Procfile as a platform runs it: release, then web, worker and beat under honcho.

Everything runs against a scratch PostgreSQL database this test creates and drops and a Redis
database of its own (the session's worker keeps the test broker's), with production settings
(DEBUG off) except the HTTPS redirect, so plain HTTP on loopback works.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
import redis
import requests
from django.conf import settings
from honcho.environ import parse_procfile

from tests.integration_support import ROOT, wait_for
from tests.s3server import free_port

pytestmark = pytest.mark.integration

LEADS = "first_name,last_name,dob\nJohn,Smith,15/03/1990\nJane,Doe,22/08/1985\nX,Y,1/1/90\n"


@pytest.fixture
def scratch_database_url():
    """A new, empty PostgreSQL database on the test server, dropped afterwards."""
    db = settings.DATABASES["default"]
    server = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }
    name = f"valify_procfile_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(server["user"]) + (
        f":{quote(server['password'])}" if server["password"] else ""
    )
    # The bare postgresql:// form that hosting platforms hand out.
    yield f"postgresql://{credentials}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_broker_url():
    """The Redis database next to the test broker's, emptied before and after."""
    parts = urlsplit(settings.CELERY_BROKER_URL)
    db = int(parts.path.strip("/") or 0)
    url = urlunsplit(parts._replace(path=f"/{db - 1 if db else 1}"))
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def platform_env(scratch_database_url, scratch_broker_url, tmp_path) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CELERY_", "REDIS_", "AWS_", "DJANGO_", "VALIFY_"))
    }
    return {
        **inherited,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(free_port()),
        "DATABASE_URL": scratch_database_url,
        "CELERY_BROKER_URL": scratch_broker_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "VALIFY_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "WEB_CONCURRENCY": "1",
        "WORKER_CONCURRENCY": "1",
        "PYTHONUNBUFFERED": "1",
    }


def procfile() -> dict[str, str]:
    return parse_procfile((ROOT / "Procfile").read_text()).processes


class Honcho:
    """`honcho start -f Procfile web worker beat` in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "honcho", "start", "-f", "Procfile", "--no-colour",
                 "web", "worker", "beat"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.running():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def test_procfile_release_then_web_worker_and_beat_serve_a_batch(platform_env, tmp_path):
    started = time.monotonic()
    release = subprocess.run(
        ["sh", "-c", procfile()["release"]],
        cwd=ROOT, env=platform_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert release.returncode == 0, release.stderr[-3000:]
    with psycopg.connect(platform_env["DATABASE_URL"]) as db:
        tasks = {task for (task,) in db.execute("SELECT task FROM django_celery_beat_periodictask")}
    assert {"batches.reconcile", "batches.purge_expired", "webhooks.sweep"} <= tasks

    honcho = Honcho(platform_env, tmp_path / "honcho.log")
    try:
        base = f"http://127.0.0.1:{platform_env['PORT']}"

        def login_page():
            assert honcho.running(), honcho.log()[-4000:]
            try:
                response = requests.get(f"{base}/admin/login/", timeout=5)
            except requests.ConnectionError:
                return None
            return response if response.status_code == 200 else None

        page = wait_for(login_page, timeout=60, interval=0.3, message="the web process")
        css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
        assert css, "hashed static names: collectstatic ran with the manifest storage"
        stylesheet = requests.get(base + css.group(1), timeout=5)
        assert stylesheet.status_code == 200
        assert stylesheet.headers["Content-Type"].startswith("text/css")
        assert "max-age" in stylesheet.headers.get("Cache-Control", "")

        leads = tmp_path / "leads.csv"
        leads.write_text(LEADS)
        imported = subprocess.run(
            [sys.executable, "manage.py", "import_batch", str(leads), "--wait", "--json"],
            cwd=ROOT, env=platform_env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert imported.returncode == 0, imported.stderr[-3000:] + honcho.log()[-4000:]
        summary = json.loads(imported.stdout)
        assert (summary["status"], summary["total_leads"]) == ("completed", 3)
        assert (summary["valid"], summary["invalid"]) == (2, 1)

        wait_for(lambda: "beat: Starting" in honcho.log(), timeout=20, message="beat")
        assert honcho.running(), "honcho stops everything when one process exits"
    finally:
        honcho.stop()
    assert time.monotonic() - started < 90
