"""Webhook delivery through a real worker (and beat), PostgreSQL, Redis and an HTTP receiver.

The worker gets the webhook settings in its environment (settings are env-driven): a real
whsec_ secret, the loopback receiver as WEBHOOK_URL (private networks allowed), one-second
retries and a short lease, so retries, outages and a SIGKILL play out in seconds.
"""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import contextmanager

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.db.models import F
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from batches import services
from batches.services.inline import batch_process_inline
from tests.integration_support import ROOT, WorkerProcess, wait_for
from tests.leadgen import generate_leads
from tests.receiver import Receiver
from tests.webhooks.factories import SECRET, make_deliveries
from webhooks.models import Delivery, DeliveryStatus
from webhooks.selectors import sweep_last_run
from webhooks.services import deliveries_sweep
from webhooks.tasks import sweep

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 7  # the shortest the senders accept with a 1 s timeout


@pytest.fixture(scope="module")
def receiver():
    with Receiver(secret=SECRET) as running:
        yield running


@pytest.fixture(scope="module")
def webhook_env(integration_env, receiver) -> dict[str, str]:
    return {
        **integration_env,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_URL": receiver.url,
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "1",
        "WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1",
        "WEBHOOK_TIMEOUT": "1",
        "WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        "WEBHOOK_SWEEP_SECONDS": "1",
        "WEBHOOK_DRAINERS": "2",
    }


@pytest.fixture(scope="module")
def webhook_worker(webhook_env, tmp_path_factory):
    process = WorkerProcess(webhook_env, tmp_path_factory.mktemp("webhook-worker-logs")).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def webhook_worker_idle_after(request):
    """After a test that used the webhook worker, wait until it has done what the test
    queued (sweeps and their drains). The database is emptied next, by one TRUNCATE of every
    table, and a sweep still running then can deadlock with it (it did once in CI)."""
    yield
    if "webhook_worker" not in request.fixturenames:
        return
    import redis
    from django.conf import settings

    from valify.celery import app

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        inspect = app.control.inspect(timeout=0.5)
        running = [
            task
            for found in (inspect.active() or {}, inspect.reserved() or {})
            for tasks in found.values()
            for task in tasks
        ]
        if not running and not broker.llen("webhooks"):
            return
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def fresh_receiver(receiver):
    receiver.clear()
    receiver.set_responder(None)
    receiver.resume()  # a no-op unless a test paused it
    yield receiver


@contextmanager
def beat_running(env: dict[str, str], log_dir):
    """`celery -A valify beat` with the DatabaseScheduler, in its own process group."""
    log_path = log_dir / f"beat-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "valify", "beat", "--loglevel", "INFO",
             "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield log_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextmanager
def sweeping(every: float = 0.5):
    """Stand in for beat: queue a webhooks.sweep every ``every`` seconds meanwhile."""
    stop = threading.Event()

    def run():
        while not stop.is_set():
            sweep.delay()
            stop.wait(every)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def statuses() -> Counter:
    return Counter(Delivery.objects.values_list("status", flat=True))


def all_delivered(n: int):
    return lambda: statuses() == Counter({DeliveryStatus.DELIVERED: n})


def test_batch_is_delivered_completely_by_beat_alone(
    webhook_worker, webhook_env, receiver, settings, tmp_path
):
    task = PeriodicTask.objects.get(task="webhooks.sweep")
    task.interval, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    task.save()
    settings.WEBHOOK_DELAY_SECONDS = 3
    generated = generate_leads(300, seed=21)
    upload = SimpleUploadedFile("leads.csv", generated.content, content_type="text/csv")
    batch = batch_process_inline(batch=services.batch_create(files=[upload], queue=False))
    expected = set(Delivery.objects.filter(batch=batch).values_list("msg_id", flat=True))
    assert len(expected) == generated.valid + generated.invalid

    with beat_running(webhook_env, tmp_path) as beat_log:
        wait_for(
            all_delivered(len(expected)),
            timeout=60,
            interval=0.2,
            message=lambda: (
                f"beat to deliver ({dict(statuses())}); beat log:\n"
                f"{beat_log.read_text()[-2000:]}\nworker log:\n{webhook_worker.log_tail()}"
            ),
        )

    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(received) == expected
    assert max(received.values()) == 1
    assert all(r.verified for r in receiver.requests), "standardwebhooks verifies each"
    early = Delivery.objects.filter(batch=batch, delivered_at__lt=F("due_at"))
    assert not early.exists(), "nothing is sent before WEBHOOK_DELAY_SECONDS"
    assert sweep_last_run() is not None, "the sweep records its heartbeat"


def test_503_twice_then_204_is_three_attempts_with_one_webhook_id(webhook_worker, receiver):
    seen = defaultdict(int)

    def flaky(request):
        seen[request.headers["webhook-id"]] += 1
        return (503, {}, b"busy") if seen[request.headers["webhook-id"]] <= 2 else (204, {}, b"")

    receiver.set_responder(flaky)
    deliveries = make_deliveries(3)

    with sweeping():
        wait_for(all_delivered(3), timeout=30, interval=0.2, message="three attempts each")

    ids = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert ids == Counter({d.msg_id: 3 for d in deliveries})
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert delivery.attempts == 3
        log = list(delivery.attempt_log.order_by("number").values_list("number", "status_code"))
        assert log == [(1, 503), (2, 503), (3, 204)]


def test_receiver_down_for_a_while_gets_everything_once_back(webhook_worker, receiver):
    receiver.pause()
    deliveries = make_deliveries(50)

    with sweeping():
        wait_for(
            lambda: (
                Delivery.objects.filter(status=DeliveryStatus.RETRYING, attempts__gte=2).count()
                == 50
            ),
            timeout=30,
            interval=0.2,
            message="every delivery to have failed twice while the receiver is down",
        )
        receiver.resume()
        wait_for(all_delivered(50), timeout=30, interval=0.2, message="recovery")

    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert received == Counter({d.msg_id: 1 for d in deliveries})
    assert not Delivery.objects.filter(status=DeliveryStatus.FAILED).exists()


def test_sweeps_running_at_once_never_send_a_delivery_twice(webhook_worker, receiver, settings):
    settings.WEBHOOK_SECRET = SECRET
    settings.WEBHOOK_URL = receiver.url
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    deliveries = make_deliveries(2000)

    def in_process_sweep():
        try:
            deliveries_sweep()
        finally:
            connections.close_all()

    for _ in range(4):  # on the worker, each fanning out drains
        sweep.delay()
    threads = [threading.Thread(target=in_process_sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sweeping(every=1):
        wait_for(all_delivered(2000), timeout=60, interval=0.2, message="all delivered")

    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert received == Counter({d.msg_id: 1 for d in deliveries})
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_worker_killed_mid_send_loses_nothing(webhook_worker, receiver):
    async def slow(request):
        await asyncio.sleep(0.01)
        return 204, {}, b""

    receiver.set_responder(slow)
    deliveries = make_deliveries(600)
    with sweeping():
        wait_for(
            lambda: receiver.request_count >= 100,
            timeout=30,
            interval=0.01,
            message="sending to be under way",
        )
        webhook_worker.kill()
    killed_at = time.monotonic()
    held = set(
        Delivery.objects.filter(status=DeliveryStatus.SENDING).values_list("msg_id", flat=True)
    )
    assert held, "the worker died holding claimed deliveries"
    assert receiver.request_count < 600, "killed in the middle"

    webhook_worker.start()
    with sweeping():
        wait_for(all_delivered(600), timeout=60, interval=0.2, message="recovery after the kill")
    recovered_in = time.monotonic() - killed_at

    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(received) == {d.msg_id for d in deliveries}, "nothing lost"
    twice = {msg_id for msg_id, n in received.items() if n > 1}
    # At least once: only deliveries the dead worker held can arrive again (the receiver
    # de-duplicates them by webhook-id), and never more than twice here.
    assert twice <= held
    assert max(received.values()) <= 2
    assert all(r.verified for r in receiver.requests)
    assert recovered_in < LEASE_SECONDS + 30
