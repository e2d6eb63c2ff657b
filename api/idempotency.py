"""Idempotency-Key: claim the key before an upload is processed, replay its first answer."""

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import IdempotentResponse

IDEMPOTENCY_WINDOW = timedelta(hours=24)
# A claim with no answer this old was left by a process that died before committing one
# (the answer commits with the batch, so no batch was made): it may be claimed again.
ABANDONED_AFTER = timedelta(minutes=10)
WAIT_SECONDS = 5.0  # how long a twin waits for the first request's answer
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class KeyOutcome:
    """What a key allows: go ahead under `claim`, replay an answer, or refuse."""

    claim: IdempotentResponse | None = None
    replay: IdempotentResponse | None = None
    refusal: str = ""  # "in_progress" or "reused"


def request_fingerprint(*, files: Iterable, options: dict[str, str]) -> str:
    """SHA-256 of the files' names and bytes and the form's options, in order."""
    digest = hashlib.sha256()
    for name, value in sorted(options.items()):
        digest.update(f"{name}={value}\0".encode())
    for upload in files:
        digest.update(f"{upload.name}\0".encode())
        for block in upload.chunks():
            digest.update(block)
        upload.seek(0)
    return digest.hexdigest()


def idempotency_purge_expired() -> int:
    """Delete the answers past IDEMPOTENCY_WINDOW; return how many. An answer can quote the
    file's cells (a refusal names the headers found, which may be a lead's values)."""
    deleted, _ = IdempotentResponse.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_WINDOW
    ).delete()
    return deleted


def idempotency_claim(
    *, user, key: str, fingerprint: str, wait: float = WAIT_SECONDS
) -> KeyOutcome:
    """Claim `key` for this request, or say what the earlier request with it answered.

    The unique (user, key) row serialises concurrent twins: exactly one inserts it; the
    others wait up to `wait` seconds for its answer, then give up (`in_progress`).
    """
    deadline = time.monotonic() + wait
    while True:
        now = timezone.now()
        IdempotentResponse.objects.filter(user=user, key=key).filter(
            created_at__lt=now - IDEMPOTENCY_WINDOW
        ).delete()
        IdempotentResponse.objects.filter(
            user=user, key=key, status_code__isnull=True, created_at__lt=now - ABANDONED_AFTER
        ).delete()
        try:
            with transaction.atomic():
                claim = IdempotentResponse.objects.create(
                    user=user, key=key, fingerprint=fingerprint
                )
            return KeyOutcome(claim=claim)
        except IntegrityError:
            earlier = IdempotentResponse.objects.filter(user=user, key=key).first()
        if earlier is None:
            continue  # expired or released meanwhile: claim it again
        if earlier.fingerprint and earlier.fingerprint != fingerprint:
            return KeyOutcome(refusal="reused")
        if earlier.status_code is not None:
            return KeyOutcome(replay=earlier)
        if time.monotonic() >= deadline:
            return KeyOutcome(refusal="in_progress")
        time.sleep(_POLL_SECONDS)


def idempotency_record(*, claim: IdempotentResponse, status_code: int, body: dict) -> None:
    """Store the answer under the claim (in the transaction that made what it reports)."""
    IdempotentResponse.objects.filter(pk=claim.pk).update(status_code=status_code, body=body)


def idempotency_release(*, claim: IdempotentResponse) -> None:
    """Give the key back after a failure that produced no answer, so a retry can run."""
    IdempotentResponse.objects.filter(pk=claim.pk, status_code__isnull=True).delete()
