"""Queue a batch's work on the broker: its split, a chord of chunk tasks, their finalize.

Tasks are named, not imported: the tasks call the services, never the other way round.
"""

from celery import chord, current_app, group

SPLIT_TASK = "batches.split_batch"
CHUNK_TASK = "batches.validate_chunk"
FINALIZE_TASK = "batches.finalize_batch"


def split_queue(*, batch_pk: int) -> None:
    """Queue the split of a batch (call it once the batch is committed)."""
    current_app.signature(SPLIT_TASK, args=(batch_pk,)).delay()


def chunks_dispatch(*, batch_pk: int, ranges: list[tuple[int, int]]) -> None:
    """Queue a chord of chunk tasks with an immutable finalize callback.

    The chord counter is not exactly-once, so correctness never rests on it: each chunk
    also finalizes when it leaves nothing pending (lifecycle.chunk_finished), and the reconciler
    re-drives what stalls.
    """
    finalize = current_app.signature(FINALIZE_TASK, args=(batch_pk,), immutable=True)
    if not ranges:
        finalize.delay()
        return
    header = group(
        current_app.signature(CHUNK_TASK, args=(batch_pk, first, last), immutable=True)
        for first, last in ranges
    )
    chord(header)(finalize)
