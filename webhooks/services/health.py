"""Endpoint health from what senders saw: recorded through customers (which owns endpoints),
and the deliveries of an endpoint disabled for failing sent back to wait."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from customers.selectors import endpoints_failing_too_long
from customers.services import endpoint_health_record, endpoints_health_rows
from valify.bulk import database_now
from webhooks.models import DeliveryStatus
from webhooks.services.binding import deliveries_rewait_endpoint
from webhooks.services.outcomes import Outcome

logger = logging.getLogger(__name__)

# A receiver's verdict on the lead is an answer all the same: the endpoint works.
SUCCESS_STATUSES = (DeliveryStatus.DELIVERED, DeliveryStatus.REJECTED)


@dataclass
class EndpointSeen:
    """What one flush of outcomes showed of one endpoint."""

    latest: datetime  # the last attempt's start
    succeeded_at: datetime | None = None  # the last success
    failed_at: datetime | None = None  # the first failure after it (or at all)
    pks: list[int] = field(default_factory=list)


def endpoints_seen(outcomes: Sequence[Outcome]) -> dict[int, EndpointSeen]:
    """Sum outcomes up per customer endpoint (a batch's own URL has no health)."""
    seen: dict[int, EndpointSeen] = {}
    for outcome in sorted(outcomes, key=lambda o: o.started_at):
        if outcome.endpoint_pk is None:
            continue
        at = outcome.started_at
        entry = seen.setdefault(outcome.endpoint_pk, EndpointSeen(latest=at))
        entry.latest = at
        entry.pks.append(outcome.delivery_pk)
        if outcome.status in SUCCESS_STATUSES:
            entry.succeeded_at, entry.failed_at = at, None
        elif entry.failed_at is None:
            entry.failed_at = at
    return seen


def endpoints_health_note(*, outcomes: Sequence[Outcome]) -> set[int]:
    """Record the health these outcomes show; return the endpoints among them now disabled.

    Called once the outcomes are recorded. An endpoint whose every attempt has failed for
    ENDPOINT_DISABLE_AFTER_HOURS is disabled here, and its deliveries go back to wait. One
    found disabled (by the rule, a 410 or an operator while these requests were out) gets
    back those of these deliveries that ended retrying or failed: a disabled endpoint's
    deliveries wait. A fault is logged and never stops sending.
    """
    disabled: set[int] = set()
    seen_now = endpoints_seen(outcomes)
    try:  # one read for the flush's endpoints, not one each
        rows = endpoints_health_rows(list(seen_now)) if seen_now else {}
    except Exception:
        logger.exception("webhooks.health_read_failed")
        return disabled
    for endpoint_pk, seen in seen_now.items():
        if endpoint_pk not in rows:
            continue  # deleted meanwhile: no health to keep
        try:
            health = endpoint_health_record(
                row=rows[endpoint_pk],
                endpoint_pk=endpoint_pk,
                now=seen.latest,
                succeeded_at=seen.succeeded_at,
                failed_at=seen.failed_at,
                on_disable=partial(_rewait, endpoint_pk),
            )
            if health is None or health.enabled:
                continue
            disabled.add(endpoint_pk)
            if not health.disabled_now:
                deliveries_rewait_endpoint(endpoint_pk=endpoint_pk, pks=seen.pks)
        except Exception:
            logger.exception("webhooks.health_record_failed", extra={"endpoint_pk": endpoint_pk})
    return disabled


def _rewait(endpoint_pk: int, failing_since: datetime) -> None:
    deliveries_rewait_endpoint(endpoint_pk=endpoint_pk, failed_since=failing_since)


def endpoints_failing_disable(*, now: datetime | None = None) -> list[int]:
    """Disable the endpoints whose every attempt has failed for ENDPOINT_DISABLE_AFTER_HOURS
    by ``now`` (the database's clock), even with no attempt since; return them.

    The sweep runs it once a run, so an endpoint is disabled on time while its deliveries
    wait hours for their next retry. A fault is logged and never fails the sweep.
    """
    try:
        now = now or database_now()
        disabled = []
        for endpoint_pk in endpoints_failing_too_long(now=now):
            rewait = partial(_rewait, endpoint_pk)
            health = endpoint_health_record(endpoint_pk=endpoint_pk, now=now, on_disable=rewait)
            if health is not None and health.disabled_now:
                disabled.append(endpoint_pk)
        return disabled
    except Exception:
        logger.exception("webhooks.health_check_failed")
        return []
