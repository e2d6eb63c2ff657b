"""Batch writes, in the order of the flow: upload -> split -> validate chunks -> finalize."""

from batches.services.chunks import chunk_validate
from batches.services.lifecycle import (
    batch_cancel,
    batch_fail,
    batch_finalize,
    batch_force_complete,
    batch_reconcile,
    batch_reprocess,
)
from batches.services.split import batch_split
from batches.services.upload import BatchRefused, batch_create, batch_inspect

__all__ = [
    "BatchRefused",
    "batch_cancel",
    "batch_create",
    "batch_fail",
    "batch_finalize",
    "batch_force_complete",
    "batch_inspect",
    "batch_reconcile",
    "batch_reprocess",
    "batch_split",
    "chunk_validate",
]
