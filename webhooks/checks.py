"""System checks for the webhook settings, so a bad value shows at deploy, not at 3 a.m."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ValidationError

from webhooks.retry import parse_schedule
from webhooks.services.sending import min_lease_seconds
from webhooks.signing import secret_key
from webhooks.validators import validate_webhook_url


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
    if settings.WEBHOOK_URL:
        # Else every delivery to it would fail for good at its first attempt.
        try:
            validate_webhook_url(settings.WEBHOOK_URL)
        except ValidationError as refused:
            reason = refused.messages[0].replace("webhook_url", "WEBHOOK_URL", 1)
            messages.append(Error(reason, id="webhooks.E003"))
    lease, timeout = settings.WEBHOOK_LEASE_SECONDS, settings.WEBHOOK_TIMEOUT
    shortest = min_lease_seconds(float(timeout))
    if lease < shortest:
        messages.append(
            Warning(
                f"WEBHOOK_LEASE_SECONDS ({lease}) is shorter than a request in flight needs "
                f"with WEBHOOK_TIMEOUT ({timeout}): at least {shortest:g} s (twice the "
                "timeout plus 2 s, and 6 s more than the timeout); senders use that.",
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
