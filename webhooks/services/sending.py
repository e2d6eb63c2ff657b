"""Sweep and drain: claim due pages and send them until nothing is due or the deadline passes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models.functions import Now

from customers.selectors import DeliveryLimits
from customers.services import environment_apply
from webhooks.models import WebhookControl
from webhooks.retry import parse_schedule
from webhooks.selectors import schedule_problem, secret_problem
from webhooks.services.cancels import cancels_listen
from webhooks.services.claims import ClaimScope, claim_more, deliveries_claim_due
from webhooks.services.health import endpoints_failing_disable
from webhooks.services.limits import PageLimits, claim_within_limits, limits_now
from webhooks.services.page import LEASE_MARGIN, deliveries_send_page
from webhooks.services.stats import SendStats
from webhooks.slots import sender_slot

logger = logging.getLogger(__name__)

PAGE_SIZE = 200  # deliveries per claim: few queries per delivery, little re-sent after a crash
RATE_PAGE_SECONDS = 5.0  # with a rate limit, claim about this many seconds of sending


@dataclass(frozen=True)
class SendingConfig:
    secret: str
    default_url: str
    schedule: tuple[int, ...]
    timeout: float
    lease_seconds: float
    rate_limit: float
    reject_statuses: tuple[int, ...] = ()

    @property
    def page_size(self) -> int:
        if self.rate_limit > 0:
            # A page is held under one lease: keep it to what the limit lets out in seconds.
            return max(1, min(PAGE_SIZE, int(self.rate_limit * RATE_PAGE_SECONDS)))
        return PAGE_SIZE


def min_lease_seconds(timeout: float) -> float:
    """The shortest lease that outlasts a request in flight, whatever the setting says.

    A sender starts a request only with the timeout plus a margin of lease left, and
    renews the lease (never for more than half of it) when less is left: so the lease
    must be at least twice that, and the system check warns when the setting is shorter.
    """
    return max(2 * (timeout + LEASE_MARGIN), timeout + 3 * LEASE_MARGIN)


def sending_config() -> SendingConfig | None:
    """The settings sending needs, or None (logged) when they do not allow sending."""
    problem = (secret_problem() if settings.WEBHOOK_SECRET else None) or schedule_problem()
    if problem:
        logger.warning("webhooks.not_configured", extra={"reason": problem})
        return None
    timeout = float(settings.WEBHOOK_TIMEOUT)
    return SendingConfig(
        secret=settings.WEBHOOK_SECRET,
        default_url=settings.WEBHOOK_URL,
        schedule=parse_schedule(settings.WEBHOOK_RETRY_SCHEDULE),
        timeout=timeout,
        lease_seconds=max(float(settings.WEBHOOK_LEASE_SECONDS), min_lease_seconds(timeout)),
        rate_limit=float(settings.WEBHOOK_RATE_LIMIT),
        reject_statuses=tuple(settings.WEBHOOK_REJECT_STATUSES),
    )


def sweep_heartbeat_record() -> None:
    """Note that a sweep ran (database time), for the admin and /health."""
    updated = WebhookControl.objects.filter(pk=WebhookControl.SINGLETON_PK).update(
        sweep_ran_at=Now()
    )
    if not updated:
        control, created = WebhookControl.objects.get_or_create(pk=WebhookControl.SINGLETON_PK)
        if not created or control.sweep_ran_at is None:
            WebhookControl.objects.filter(pk=control.pk).update(sweep_ran_at=Now())


def deliveries_sweep(*, fan_out: Callable[[float], None] | None = None) -> dict[str, int | str]:
    """Record the heartbeat, then send due deliveries until none is due or the deadline.

    ``fan_out(deadline)`` is called once when the first page is full (a backlog), so other
    worker slots can drain alongside; it must not wait for them.
    """
    sweep_heartbeat_record()
    endpoints_failing_disable()
    deadline = time.time() + max(1, settings.WEBHOOK_SWEEP_SECONDS)
    stats = deliveries_drain(deadline=deadline, on_backlog=fan_out)
    logger.info("webhooks.swept", extra=stats)
    return stats


def deliveries_drain(
    *, deadline: float, on_backlog: Callable[[float], None] | None = None
) -> dict[str, int | str]:
    """Claim, send and record page after page until nothing is due or ``deadline`` passes.

    ``deadline`` is a Unix time, fixed by the sweep: a drain that waited in the queue past
    it does nothing, so drains never pile up behind a backlog. In a worker it first takes
    one of the worker's sender slots (webhooks.slots), and returns at once when none is
    free, leaving its worker slot to validation.
    """
    stats = SendStats()
    if time.time() >= deadline:
        return stats.as_dict()
    config = sending_config()
    if config is None:
        stats.stopped = "not configured"
        return stats.as_dict()
    with sender_slot() as held:
        if not held:
            # This worker's other slots are sending: this one stays free for validation.
            stats.stopped = "no free sender slot"
            return stats.as_dict()
        # The environment's secret and URL reach `default` before its deliveries are
        # picked, once a drain (two reads when nothing changed), not before every page.
        environment_apply()
        _drain_pages(config=config, deadline=deadline, on_backlog=on_backlog, stats=stats)
    return stats.as_dict()


def _drain_pages(
    *,
    config: SendingConfig,
    deadline: float,
    on_backlog: Callable[[float], None] | None,
    stats: SendStats,
) -> None:
    while time.time() < deadline:
        cancels_listen()  # before the claim, so no cancel after it goes unheard

        def claim_page(limits: DeliveryLimits):
            made = deliveries_claim_due(
                limit=config.page_size,
                lease_seconds=config.lease_seconds,
                default_url=config.default_url,
                signable_only=True,
                held_customers=limits.held,
                environment_applied=True,
            )
            return made, made.deliveries

        claim, rows, limits = claim_within_limits(claim_page)
        claim.deliveries = rows  # within the customers' caps
        if not claim.deliveries:
            break
        if on_backlog is not None and len(claim.deliveries) >= config.page_size:
            on_backlog(deadline)
            on_backlog = None
        page = deliveries_send_page(
            claim=claim,
            config=config,
            deadline=deadline,
            top_up=_top_up(claim, config, limits),
            limits=limits,
        )
        stats.add(page)
        if page.stopped:
            break


def _top_up(claim, config: SendingConfig, limits: PageLimits):
    """The page's way to claim more under its token, with the drain's own filters."""

    def top_up(skip_endpoints: tuple[int, ...], skip_default_route: bool):
        def claim_rows(now: DeliveryLimits):
            scope = ClaimScope(
                default_url=config.default_url,
                signable_only=True,
                held_customers=tuple(now.held),
                skip_endpoints=skip_endpoints,
                skip_default_route=skip_default_route,
            )
            return claim, claim_more(claim=claim, limit=config.page_size, scope=scope)

        _, rows, newer = claim_within_limits(claim_rows)
        limits.follow(newer)
        return rows

    return top_up


def held_customers() -> list[int]:
    """Customers whose deliveries wait now (delivery window, daily cap)."""
    return limits_now().held
