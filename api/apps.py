"""App configuration for the API."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from api.groups import groups_ensure

        post_migrate.connect(groups_ensure, sender=self)
