"""Batch tasks: thin callers of the services, taking ids."""

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from batches import services
from batches.reading.errors import FileRefused
from batches.services.pending import pending_uploads_purge

logger = logging.getLogger(__name__)

# Faults that mean "try again shortly" rather than "this chunk is broken".
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(name="batches.split_batch", bind=True, max_retries=5)
def split_batch(self, batch_pk: int) -> int:
    try:
        ranges = services.batch_split(batch_pk=batch_pk)
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
    except Exception as exc:
        reason = str(exc) if isinstance(exc, FileRefused) else services.failure_text(exc)
        services.batch_fail(batch_pk=batch_pk, reason=f"Could not read the upload: {reason}")
        raise
    if ranges:
        services.chunks_dispatch(batch_pk=batch_pk, ranges=ranges)
    return len(ranges)


@shared_task(name="batches.validate_chunk", bind=True)
def validate_chunk(self, batch_pk: int, first_seq: int, last_seq: int) -> dict[str, int]:
    try:
        counts = services.chunk_validate(batch_pk=batch_pk, first_seq=first_seq, last_seq=last_seq)
    except Exception as exc:
        if self.request.retries < settings.CHUNK_MAX_RETRIES:
            raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
        reason = (
            f"Rows {first_seq}-{last_seq} failed {self.request.retries + 1} times: "
            f"{services.failure_text(exc)}"
        )
        # A database outage delays the batch (the reconciler re-drives it); a bug fails it.
        if not isinstance(exc, TRANSIENT_ERRORS):
            services.batch_fail(batch_pk=batch_pk, reason=reason)
        logger.exception("chunk.failed", extra={"batch_pk": batch_pk, "first_seq": first_seq})
        raise
    services.chunk_finished(batch_pk=batch_pk)
    return counts


@shared_task(name="batches.finalize_batch")
def finalize_batch(batch_pk: int) -> bool:
    return services.batch_finalize(batch_pk=batch_pk)


@shared_task(name="batches.reconcile")
def reconcile_batches() -> dict[str, int]:
    return services.batch_reconcile()


@shared_task(name="batches.purge_expired")
def purge_expired() -> dict[str, int]:
    """Purge uploads and lead rows older than RETENTION_DAYS (0 keeps everything)."""
    return services.batches_purge_expired_now()


@shared_task(name="batches.purge_caches")
def purge_caches() -> dict[str, int]:
    """Delete cached answers past their use (AI, MX, company, idempotent uploads)."""
    return services.caches_purge_expired()


@shared_task(name="batches.purge_pending_uploads")
def purge_pending_uploads() -> int:
    return pending_uploads_purge()
