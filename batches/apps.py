"""App configuration for batches."""

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate


class BatchesConfig(AppConfig):
    name = "batches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from batches.models import BatchFile
        from batches.setup import periodic_tasks_ensure
        from batches.signals import batch_file_deleted

        post_migrate.connect(periodic_tasks_ensure, sender=self)
        post_delete.connect(batch_file_deleted, sender=BatchFile)
