"""Batch writes, in the flow's order: upload -> split -> validate chunks -> finalize -> purge.

Beside the flow: erasing one person, and the admin's history of exports and uploads.
"""

from batches.services.chunks import chunk_validate
from batches.services.dispatch import chunks_dispatch, split_queue
from batches.services.erasure import ErasureRefused, ErasureReport, person_erase
from batches.services.history import (
    command_user,
    history_record,
    lead_data_record,
    system_user,
)
from batches.services.lifecycle import (
    batch_cancel,
    batch_fail,
    batch_finalize,
    batch_force_complete,
    batch_reconcile,
    batch_reprocess,
    chunk_finished,
    failure_text,
)
from batches.services.retention import (
    PurgeReport,
    batch_files_purge,
    batch_purge,
    batches_purge_expired,
    batches_purge_expired_now,
    caches_purge_expired,
)
from batches.services.split import batch_split
from batches.services.upload import BatchRefused, batch_create, batch_inspect

__all__ = [
    "BatchRefused",
    "ErasureRefused",
    "ErasureReport",
    "PurgeReport",
    "batch_cancel",
    "batch_create",
    "batch_fail",
    "batch_files_purge",
    "batch_finalize",
    "batch_force_complete",
    "batch_inspect",
    "batch_purge",
    "batch_reconcile",
    "batch_reprocess",
    "batch_split",
    "batches_purge_expired",
    "batches_purge_expired_now",
    "caches_purge_expired",
    "chunk_finished",
    "chunk_validate",
    "chunks_dispatch",
    "command_user",
    "failure_text",
    "history_record",
    "lead_data_record",
    "person_erase",
    "split_queue",
    "system_user",
]
