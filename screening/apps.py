"""App configuration for screening."""

from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "screening"
    verbose_name = "Screening"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from screening import checks  # noqa: F401  registers the settings checks
