"""The batch pipeline through a real worker, PostgreSQL and Redis, including a SIGKILL."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from batches import services
from batches.models import BatchJob, BatchStatus
from leads.models import LeadStatus, LeadValidation
from tests.integration_support import wait_for
from tests.leadgen import generate_leads
from webhooks.models import Delivery

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def upload_generated(n: int, *, seed: int, queue: bool = True):
    generated = generate_leads(n, seed=seed)
    upload = SimpleUploadedFile(f"leads-{seed}.csv", generated.content, content_type="text/csv")
    return generated, services.batch_create(files=[upload], queue=queue)


def assert_final_and_counted(batch: BatchJob, generated) -> None:
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED, batch.error
    by_status = dict(
        LeadValidation.objects.filter(batch=batch).values_list("status").annotate(n=Count("pk"))
    )
    assert by_status == {
        LeadStatus.VALID: generated.valid,
        LeadStatus.INVALID: generated.invalid,
        LeadStatus.DUPLICATE: generated.duplicate,
    }
    assert (batch.valid_count, batch.invalid_count, batch.duplicate_count) == (
        generated.valid,
        generated.invalid,
        generated.duplicate,
    )
    assert batch.processed_leads == batch.total_leads == generated.total
    # Exactly one delivery per non-duplicate lead, however many times chunks ran.
    per_lead = Delivery.objects.filter(batch=batch).values("lead").annotate(n=Count("pk"))
    assert per_lead.count() == generated.valid + generated.invalid
    assert not per_lead.filter(n__gt=1).exists()


def test_ten_thousand_leads_complete_through_the_worker(worker, shared_media, settings):
    generated, batch = upload_generated(10_000, seed=11)
    wait_for(
        lambda: BatchJob.objects.filter(pk=batch.pk, status__in=["completed", "failed"]).exists(),
        timeout=60,
        message=lambda: f"batch to finish; worker log:\n{worker.log_tail()}",
    )
    assert_final_and_counted(batch, generated)


def test_chunk_executed_twice_changes_nothing(worker, shared_media):
    from batches.tasks import finalize_batch, validate_chunk

    generated, batch = upload_generated(1_200, seed=12, queue=False)
    ranges = services.batch_split(batch_pk=batch.pk)
    # Every chunk is sent twice at once; the second copy must find nothing left to do.
    for first, last in ranges:
        validate_chunk.delay(batch.pk, first, last)
        validate_chunk.delay(batch.pk, first, last)
    wait_for(
        lambda: BatchJob.objects.filter(pk=batch.pk, status="completed").exists(),
        timeout=60,
        message="batch to complete",
    )
    for first, last in ranges:
        assert validate_chunk.delay(batch.pk, first, last).get(timeout=30)["processed"] == 0
    assert finalize_batch.delay(batch.pk).get(timeout=30) is False
    assert_final_and_counted(batch, generated)


def test_worker_killed_mid_batch_ends_like_an_undisturbed_run(worker, shared_media, settings):
    settings.STALL_TIMEOUT_SECONDS = 2
    settings.MAX_LEADS_PER_BATCH = 20_000
    generated, batch = upload_generated(20_000, seed=13)
    wait_for(
        lambda: BatchJob.objects.filter(pk=batch.pk, processed_leads__gte=2_000).exists(),
        timeout=60,
        interval=0.01,
        message="the batch to be under way",
    )
    worker.kill()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PROCESSING
    assert batch.processed_leads < batch.total_leads, "killed in the middle"
    worker.start()
    # Beat's reconciler, run here so the test controls its clock.
    wait_for(
        lambda: (
            services.batch_reconcile() is not None
            and BatchJob.objects.filter(pk=batch.pk, status="completed").exists()
        ),
        timeout=90,
        interval=1,
        message=lambda: f"the batch to recover; worker log:\n{worker.log_tail()}",
    )
    assert_final_and_counted(batch, generated)
