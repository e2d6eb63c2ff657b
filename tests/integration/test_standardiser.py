"""The AI standardiser through real workers on PostgreSQL and Redis: bounds across processes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from batches import services
from batches.models import BatchJob
from leads.models import LeadStatus, LeadValidation
from standardiser.models import AiBatchUsage, AiCacheEntry
from tests.aifake import FakeModelServer
from tests.integration_support import WorkerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROWS = 24


def csv_upload():
    lines = ["first_name,last_name,dob"]
    lines += [f",SMITH Name{i},{1 + i % 28}th March 1990" for i in range(ROWS)]
    return SimpleUploadedFile("leads.csv", ("\n".join(lines) + "\n").encode())


def test_chunks_in_several_processes_share_the_call_bound_and_the_budget(
    integration_env, shared_media, tmp_path, without_session_worker
):
    with FakeModelServer() as model:
        model.delay = 0.3
        env = {
            **integration_env,
            "AI_BASE_URL": model.base_url,
            "AI_MODEL": "fake-1",
            "AI_CONCURRENCY": "2",
            "AI_MAX_CALLS_PER_BATCH": "20",
            "CHUNK_SIZE": "6",  # four chunks, run by four processes at once
        }
        worker = WorkerProcess(env, tmp_path, concurrency=4, queues=("batches", "celery"))
        worker.start()
        try:
            batch = services.batch_create(files=[csv_upload()])
            wait_for(
                lambda: BatchJob.objects.filter(
                    pk=batch.pk, status__in=["completed", "failed"]
                ).exists(),
                timeout=90,
                message=lambda: f"batch to finish; worker log:\n{worker.log_tail()}",
            )
        finally:
            worker.stop()

    batch.refresh_from_db()
    assert batch.status == "completed", batch.error
    assert model.most_in_flight == 2, "AI_CONCURRENCY across every process"
    assert len(model.requests) == 20 and AiBatchUsage.objects.get(batch=batch).calls == 20
    leads = LeadValidation.objects.filter(batch=batch)
    assert leads.filter(status=LeadStatus.VALID, ai__outcome="corrected").count() == 20
    assert leads.filter(status=LeadStatus.INVALID, ai__outcome="no_budget").count() == 4
    assert AiCacheEntry.objects.count() == 20
