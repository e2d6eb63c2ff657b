"""Faults during a batch: each ends with every lead in one final state and the right counts.

Worker and beat run as real processes on a private Redis (so restarting it harms nothing else);
the reconciler runs every second with a 3-second stall timeout.
"""

import time

import pytest

from batches.models import BatchJob
from tests.faultrig import (
    FaultRig,
    db_safe,
    import_file,
    outcome_problems,
    periodic_every_second,
    restart_postgresql,
)
from tests.integration_support import wait_for
from tests.leadgen import generate_leads

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LEADS = 20_000


@pytest.fixture
def rig(integration_env, tmp_path):
    """Private Redis + worker + beat sharing the test database and media."""
    env = {**integration_env, "STALL_TIMEOUT_SECONDS": "3", "MAX_LEADS_PER_BATCH": str(LEADS)}
    periodic_every_second("batches.reconcile")
    running = FaultRig(env, tmp_path).start()
    yield running
    running.stop()


def import_batch(rig, *, seed: int):
    generated = generate_leads(LEADS, seed=seed)
    path = rig.log_dir / f"faults-{seed}.csv"
    path.write_bytes(generated.content)
    return generated, BatchJob.objects.get(batch_id=import_file(path, rig.env))


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
        message=lambda: f"the batch to complete; worker log:\n{rig.worker.log_tail()}",
    )
    return time.monotonic() - started


def assert_exact_outcome(batch, generated) -> None:
    problems = outcome_problems(batch.pk, generated)
    assert not problems, problems


def test_redis_restarted_mid_batch(rig):
    generated, batch = import_batch(rig, seed=21)
    wait_until_under_way(batch)
    rig.redis.restart()  # the queued chunk messages are gone
    wait_completed(batch, rig)
    assert_exact_outcome(batch, generated)


def test_postgresql_restarted_mid_batch(rig):
    generated, batch = import_batch(rig, seed=22)
    wait_until_under_way(batch)
    restart_postgresql()
    wait_completed(batch, rig)
    assert_exact_outcome(batch, generated)


def test_two_beats_started_by_mistake(rig):
    rig.add_beat()
    generated, batch = import_batch(rig, seed=23)
    wait_until_under_way(batch, share=0.3)
    rig.worker.kill()  # make the reconcilers of both beats re-drive the same batch
    rig.worker.start()
    wait_completed(batch, rig)
    assert_exact_outcome(batch, generated)
