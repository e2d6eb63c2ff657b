"""Hold an unresponsive endpoint's deliveries back, so it does not hold up everyone else's.

A sender sends one request at a time. An endpoint that answers nothing until the timeout
(or fails slowly) cost a whole timeout for each of its deliveries, one after another, and
every other customer's deliveries waited behind them, page after page. Once one attempt
shows it, the other open deliveries to that URL wait instead, with no attempt used, until
just after the failed one's retry (at most HOLD_MAX_SECONDS away): that one request probes
the endpoint alone, on its own retry schedule. When the endpoint has been failing for
longer (customer endpoints keep that time), they wait as long again, within the same cap.

An endpoint that answers, but only after half the timeout or more (or drips its answer
until the timeout), would hold everyone up the same way: while other endpoints' deliveries
are waiting, its other deliveries wait as long as the answer took and a request's time
more, so each sender gets through the others' in between; then they go on, one such
request at a time. With nobody else waiting, it is sent to one request after another.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q

from customers.services import endpoints_health_rows
from webhooks.addresses import url_for_log
from webhooks.models import Delivery, DeliveryStatus
from webhooks.selectors import default_route
from webhooks.services.claims import Claim, ClaimedDelivery, claim_release
from webhooks.services.outcomes import Outcome

logger = logging.getLogger(__name__)

SLOW_FRACTION = 0.5  # a failed attempt that took this share of the timeout or more
HOLD_MAX_SECONDS = 900  # the longest the others wait for a probe
ANSWERED = (DeliveryStatus.DELIVERED, DeliveryStatus.REJECTED)


def is_unresponsive(outcome: Outcome, *, timeout: float) -> bool:
    """Whether an attempt took half the timeout or more, failed or answered: a hung, slow
    or overwhelmed receiver, which would cost as much again for each of its deliveries."""
    return (
        outcome.status != DeliveryStatus.SCHEDULED  # a 410 from an endpoint: disabled
        and outcome.duration_ms >= SLOW_FRACTION * timeout * 1000
    )


def hold_until(
    outcome: Outcome, *, now: datetime, schedule: tuple[int, ...], probe_seconds: float
) -> datetime:
    """Until when the others wait: ``probe_seconds`` (a request's time) after the probe's
    retry, so it goes first and alone; or after as long again as the endpoint has been
    failing, if that is later; never more than HOLD_MAX_SECONDS (a long Retry-After or a
    late retry of the probe holds only the probe). After a slow answer, as long as it took
    and ``probe_seconds`` more."""
    if outcome.status in ANSWERED:
        return now + timedelta(milliseconds=outcome.duration_ms, seconds=probe_seconds)
    probe = outcome.next_attempt_at or now + timedelta(seconds=schedule[0])
    if outcome.endpoint_pk is not None:
        row = endpoints_health_rows([outcome.endpoint_pk]).get(outcome.endpoint_pk)
        failing_since = row[2] if row else None
        if failing_since is not None:
            probe = max(probe, now + (now - failing_since))
    probe = min(probe, now + timedelta(seconds=HOLD_MAX_SECONDS))
    return probe + timedelta(seconds=probe_seconds)


def route_hold(
    *,
    claim: Claim,
    delivery: ClaimedDelivery,
    todo: list[ClaimedDelivery],
    until: datetime,
    default_url: str,
) -> tuple[list[int], int]:
    """Make the open deliveries sent where ``delivery`` was sent wait until ``until``.

    Those of the page still to send (``todo``) go back unsent, their attempt undone; the
    others not claimed by any sender are put off. Return the page's ones (to drop from
    it, whether or not they were still held) and how many of them went back.
    """
    url = delivery.endpoint
    mine = [d.pk for d in todo if d.endpoint == url]
    released = claim_release(claim=claim, pks=mine, until=until)
    waiting = Delivery.objects.filter(
        _sent_to(url, default_url),
        status__in=(DeliveryStatus.SCHEDULED, DeliveryStatus.RETRYING),
        lease_token__isnull=True,
        next_attempt_at__lt=until,
    ).exclude(pk=delivery.pk)  # the probe, recorded already, keeps its retry
    later = waiting.update(next_attempt_at=until)
    logger.warning(
        "webhooks.endpoint_held",
        extra={
            "endpoint": url_for_log(url),
            "endpoint_pk": delivery.endpoint_pk,
            "until": until.isoformat(),
            "held": released + later,
        },
    )
    return mine, released


def _sent_to(url: str, default_url: str) -> Q:
    """The deliveries whose request goes to ``url``, as the claim picks it: a batch's own
    URL, else the customer endpoint's, else (the default customer's) WEBHOOK_URL."""
    route = Q(batch__webhook_url=url) | Q(
        batch__webhook_url="", customer_endpoint__isnull=False, customer_endpoint__url=url
    )
    if url == default_url:
        route |= default_route()
    return route
