"""Alert tasks: the periodic retry of unsent alerts."""

from celery import shared_task

from alerts.services import alerts_send_unsent


@shared_task(name="alerts.send_unsent")
def send_unsent() -> dict:
    """Write held-back alerts that are due and retry alerts not sent yet."""
    return alerts_send_unsent()
