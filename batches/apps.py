"""App configuration for batches."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BatchesConfig(AppConfig):
    name = "batches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from batches.setup import periodic_tasks_ensure

        post_migrate.connect(periodic_tasks_ensure, sender=self)
