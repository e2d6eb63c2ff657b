"""System checks for the webhook settings, so a bad value shows at deploy, not at 3 a.m."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from webhooks.retry import parse_schedule
from webhooks.signing import secret_key


@register()
def check_webhook_settings(app_configs, **kwargs) -> list:
    messages = []
    try:
        parse_schedule(settings.WEBHOOK_RETRY_SCHEDULE)
    except ValueError as exc:
        messages.append(Error(str(exc), id="webhooks.E001"))
    if settings.WEBHOOK_SECRET:
        try:
            secret_key(settings.WEBHOOK_SECRET)
        except ValueError as exc:
            messages.append(Error(str(exc), id="webhooks.E002"))
    lease, timeout = settings.WEBHOOK_LEASE_SECONDS, settings.WEBHOOK_TIMEOUT
    if lease < timeout + 6:
        messages.append(
            Warning(
                f"WEBHOOK_LEASE_SECONDS ({lease}) should outlast WEBHOOK_TIMEOUT ({timeout}) "
                "by at least 6 s; senders use the longer of the two.",
                id="webhooks.W001",
            )
        )
    if lease + settings.WEBHOOK_SWEEP_SECONDS >= 120:
        messages.append(
            Warning(
                "WEBHOOK_LEASE_SECONDS + WEBHOOK_SWEEP_SECONDS is 120 s or more: deliveries "
                "claimed by a worker that died wait longer than 2 minutes to be sent again.",
                id="webhooks.W002",
            )
        )
    return messages
