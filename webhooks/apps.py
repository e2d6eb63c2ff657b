"""App configuration for webhooks."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from celery.signals import celeryd_after_setup

        from webhooks import checks  # noqa: F401  registers the settings checks

        # Once -Q and the concurrency are settled, before the pool forks.
        celeryd_after_setup.connect(_configure_sender_slots, weak=False)


def _configure_sender_slots(sender=None, instance=None, **kwargs) -> None:
    import logging

    from webhooks.slots import worker_sender_slots_configure

    queues = list(instance.app.amqp.queues.consume_from)
    slots = worker_sender_slots_configure(
        name=str(sender), concurrency=int(instance.concurrency), queues=queues
    )
    logging.getLogger(__name__).info(
        "webhooks.sender_slots",
        extra={"slots": slots, "concurrency": instance.concurrency, "queues": queues},
    )
