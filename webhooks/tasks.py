"""Webhook tasks (queue `webhooks`): the beat-driven sweep and the drains it fans out."""

from celery import shared_task
from django.conf import settings

from webhooks import services


def _fan_out(deadline: float) -> None:
    # The sweep drains too, so it asks for one drain fewer than there are senders.
    for _ in range(max(0, settings.WEBHOOK_DRAINERS - 1)):
        drain.delay(deadline)


@shared_task(name="webhooks.sweep")
def sweep() -> dict:
    """Record the heartbeat and send due deliveries, with drains alongside on a backlog."""
    return services.deliveries_sweep(fan_out=_fan_out)


@shared_task(name="webhooks.drain")
def drain(deadline: float) -> dict:
    """Send due deliveries until none is due or the sweep's deadline (Unix time) passes."""
    return services.deliveries_drain(deadline=deadline)
