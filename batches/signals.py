"""Signal handlers: a deleted batch takes its stored files with it."""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def batch_file_deleted(sender, instance, **kwargs) -> None:
    """Delete a batch file's stored upload once the deletion of its row commits.

    However the batch goes (the admin, a queryset, a cascade), its upload does not stay
    behind in storage; after the commit, so a rolled-back delete keeps the file.
    """
    name, storage = instance.file.name, instance.file.storage
    if not name:
        return

    def remove() -> None:
        try:
            storage.delete(name)
        except Exception:  # storage down: the row is gone either way; say so
            logger.exception("batch.file_delete_failed", extra={"file": name})

    transaction.on_commit(remove)
