"""Faults during a batch: each ends with every lead in one final state and the right counts.

Worker and beat run as real processes on a private Redis (so restarting it harms nothing else);
the reconciler runs every second with a 3-second stall timeout.
"""

import json
import subprocess
import sys
import time

import pytest
from django.db.models import Count

from batches.models import BatchJob
from leads.models import LeadValidation
from tests.faultrig import (
    ROOT,
    BeatProcess,
    PrivateRedis,
    db_safe,
    periodic_every_second,
    restart_postgresql,
)
from tests.integration_support import WorkerProcess, wait_for
from tests.leadgen import generate_leads
from webhooks.models import Delivery

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LEADS = 20_000


@pytest.fixture
def rig(integration_env, tmp_path):
    """Private Redis + worker + beat sharing the test database and media."""
    redis = PrivateRedis().start()
    env = {
        **integration_env,
        "CELERY_BROKER_URL": redis.url,
        "STALL_TIMEOUT_SECONDS": "3",
        "MAX_LEADS_PER_BATCH": str(LEADS),
    }
    periodic_every_second("batches.reconcile")
    parts = {
        "redis": redis,
        "env": env,
        "worker": WorkerProcess(env, tmp_path).start(),
        "beats": [BeatProcess(env, tmp_path).start()],
        "tmp": tmp_path,
    }
    yield parts
    for beat in parts["beats"]:
        beat.stop()
    parts["worker"].stop()
    redis.stop()


def import_batch(rig, *, seed: int):
    generated = generate_leads(LEADS, seed=seed)
    path = rig["tmp"] / f"faults-{seed}.csv"
    path.write_bytes(generated.content)
    result = subprocess.run(
        [sys.executable, "manage.py", "import_batch", str(path), "--json"],
        cwd=ROOT, env=rig["env"], capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return generated, BatchJob.objects.get(batch_id=json.loads(result.stdout)["batch_id"])


def wait_until_under_way(batch, share: float = 0.15) -> None:
    wait_for(
        lambda: BatchJob.objects.filter(
            pk=batch.pk, processed_leads__gte=int(LEADS * share)
        ).exists(),
        timeout=120,
        interval=0.01,
        message="the batch to be under way",
    )


def wait_completed(batch, rig, timeout: float = 150) -> float:
    started = time.monotonic()
    wait_for(
        lambda: db_safe(
            lambda: BatchJob.objects.filter(pk=batch.pk, status="completed").exists(), False
        ),
        timeout=timeout,
        interval=0.5,
        message=f"the batch to complete; worker log:\n{rig['worker'].log_tail()}",
    )
    return time.monotonic() - started


def assert_exact_outcome(batch, generated) -> None:
    batch.refresh_from_db()
    by_status = dict(
        LeadValidation.objects.filter(batch=batch).values_list("status").annotate(n=Count("pk"))
    )
    assert by_status == {
        "valid": generated.valid,
        "invalid": generated.invalid,
        "duplicate": generated.duplicate,
    }
    assert (batch.valid_count, batch.invalid_count, batch.duplicate_count) == (
        generated.valid,
        generated.invalid,
        generated.duplicate,
    )
    per_lead = Delivery.objects.filter(batch=batch).values("lead").annotate(n=Count("pk"))
    assert per_lead.count() == generated.valid + generated.invalid
    assert not per_lead.filter(n__gt=1).exists(), "a lead got two deliveries"


def test_redis_restarted_mid_batch(rig):
    generated, batch = import_batch(rig, seed=21)
    wait_until_under_way(batch)
    rig["redis"].restart()  # the queued chunk messages are gone
    wait_completed(batch, rig)
    assert_exact_outcome(batch, generated)


def test_postgresql_restarted_mid_batch(rig):
    generated, batch = import_batch(rig, seed=22)
    wait_until_under_way(batch)
    restart_postgresql()
    wait_completed(batch, rig)
    assert_exact_outcome(batch, generated)


def test_two_beats_started_by_mistake(rig):
    rig["beats"].append(BeatProcess(rig["env"], rig["tmp"]).start())
    generated, batch = import_batch(rig, seed=23)
    wait_until_under_way(batch, share=0.3)
    rig["worker"].kill()  # make the reconcilers of both beats re-drive the same batch
    rig["worker"].start()
    wait_completed(batch, rig)
    assert_exact_outcome(batch, generated)
