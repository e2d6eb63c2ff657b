"""Hold an unresponsive endpoint's deliveries back, so it does not hold up everyone else's.

A sender sends one request at a time. An endpoint that answers nothing until the timeout
(or fails slowly) cost a whole timeout for each of its deliveries, one after another, and
every other customer's deliveries waited behind them, page after page. Once one attempt
shows it, the endpoint's other open deliveries wait instead, with no attempt used, until
the failed one's retry: one request probes the endpoint then. The longer the endpoint has
failed, the longer they wait (as long again, up to HOLD_MAX_SECONDS).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from customers.models import DEFAULT_SLUG
from customers.services import endpoints_health_rows
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services.claims import Claim, ClaimedDelivery, claim_release
from webhooks.services.outcomes import Outcome

logger = logging.getLogger(__name__)

SLOW_FRACTION = 0.5  # a failed attempt that took this share of the timeout or more
HOLD_MAX_SECONDS = 900  # the longest an endpoint's deliveries wait between two probes
ANSWERED = (DeliveryStatus.DELIVERED, DeliveryStatus.REJECTED)


def is_unresponsive(outcome: Outcome, *, timeout: float) -> bool:
    """Whether an attempt failed after taking half the timeout or more: a hung or
    overwhelmed receiver, which would cost as much again for each of its deliveries."""
    return (
        outcome.status not in ANSWERED
        and outcome.status != DeliveryStatus.SCHEDULED  # a 410 from an endpoint: disabled
        and outcome.duration_ms >= SLOW_FRACTION * timeout * 1000
    )


def hold_until(outcome: Outcome, *, now: datetime, schedule: tuple[int, ...]) -> datetime:
    """When the endpoint is probed again: at the slow attempt's retry, or later when the
    endpoint has been failing longer than that (as long again, at most HOLD_MAX_SECONDS)."""
    until = outcome.next_attempt_at or now + timedelta(seconds=schedule[0])
    if outcome.endpoint_pk is not None:
        row = endpoints_health_rows([outcome.endpoint_pk]).get(outcome.endpoint_pk)
        failing_since = row[2] if row else None
        if failing_since is not None:
            failing_for = min((now - failing_since).total_seconds(), HOLD_MAX_SECONDS)
            until = max(until, now + timedelta(seconds=failing_for))
    return until


def route_hold(
    *,
    claim: Claim,
    delivery: ClaimedDelivery,
    todo: list[ClaimedDelivery],
    until: datetime,
    default_url: str,
) -> list[int]:
    """Make the open deliveries that go where ``delivery`` went wait until ``until``.

    Those of the page still to send (``todo``) go back unsent, their attempt undone; the
    route's others not claimed by any sender are put off. Return the page's ones held.
    """
    mine = [d.pk for d in todo if d.endpoint == delivery.endpoint]
    held = claim_release(claim=claim, pks=mine, until=until)
    waiting = _route(delivery, default_url).filter(
        status__in=(DeliveryStatus.SCHEDULED, DeliveryStatus.RETRYING),
        lease_token__isnull=True,
        next_attempt_at__lt=until,
    )
    later = waiting.update(next_attempt_at=until)
    logger.warning(
        "webhooks.endpoint_held",
        extra={
            "endpoint": delivery.endpoint,
            "endpoint_pk": delivery.endpoint_pk,
            "until": until.isoformat(),
            "held": held + later,
        },
    )
    return mine


def _route(delivery: ClaimedDelivery, default_url: str):
    """The deliveries sent where ``delivery`` is: its customer endpoint's, its batch's own
    URL's, or the default customer's that go to WEBHOOK_URL."""
    if delivery.endpoint_pk is not None:
        return Delivery.objects.filter(customer_endpoint_id=delivery.endpoint_pk)
    if delivery.endpoint != default_url:
        return Delivery.objects.filter(batch_id=delivery.batch_pk)
    return Delivery.objects.filter(
        customer_endpoint__isnull=True,
        batch__webhook_url="",
        batch__customer__slug=DEFAULT_SLUG,
    )
