"""App configuration for the AI standardiser."""

from django.apps import AppConfig


class StandardiserConfig(AppConfig):
    name = "standardiser"
    verbose_name = "AI standardiser"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from standardiser import checks  # noqa: F401  registers the settings checks
