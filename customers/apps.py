"""App configuration for customers."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CustomersConfig(AppConfig):
    name = "customers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_default_ensure, sender=self)


def _default_ensure(using="default", **kwargs) -> None:
    """Keep the customer `default` after every migrate and flush (its data migration runs once)."""
    from customers.models import DEFAULT_SLUG, Customer

    Customer.objects.using(using).get_or_create(slug=DEFAULT_SLUG, defaults={"name": "Default"})
