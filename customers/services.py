"""Writes: customers, their endpoints and secrets, and the environment's `default` customer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.services import alert_recipients, endpoint_disabled_alert
from customers.errors import CustomerRefused
from customers.health import (
    HealthRecord,
    failing_reason,
    failing_too_long,
    health_after,
    health_worth_writing,
)
from customers.models import DEFAULT_SLUG, Customer, Endpoint
from customers.secrets import Rotation, rotation_plan, secret_new

logger = logging.getLogger(__name__)

ENVIRONMENT_UNSET_REASON = "WEBHOOK_URL is not set"


def _rotate_locked(customer: Customer, new: str) -> Rotation:
    """Rotate the secret of ``customer`` (a row locked by the caller) to ``new`` and save it."""
    now = timezone.now()
    plan = rotation_plan(
        current=customer.secret,
        previous=customer.previous_secret,
        previous_valid_until=customer.previous_valid_until,
        new=new,
        now=now,
        hours=float(settings.WEBHOOK_SECRET_ROTATION_HOURS),
    )
    if plan.dropped_previous:
        # At most two secrets are valid: receivers still on the oldest one start failing.
        logger.warning(
            "customers.previous_secret_dropped",
            extra={"customer": customer.slug, "was_valid_until": customer.previous_valid_until},
        )
    customer.secret = plan.secret
    customer.previous_secret = plan.previous_secret
    customer.previous_valid_until = plan.previous_valid_until
    customer.secret_rotated_at = now
    customer.save(
        update_fields=["secret", "previous_secret", "previous_valid_until", "secret_rotated_at"]
    )
    logger.info("customers.secret_rotated", extra={"customer": customer.slug})
    return plan


def customer_secret_rotate(*, customer: Customer) -> Rotation:
    """Give ``customer`` a new secret; the old one stays valid WEBHOOK_SECRET_ROTATION_HOURS.

    Refused for `default` while WEBHOOK_SECRET is set: the environment owns that secret.
    """
    if customer.slug == DEFAULT_SLUG and settings.WEBHOOK_SECRET:
        raise CustomerRefused(
            "secret_from_environment",
            "The default customer's secret comes from WEBHOOK_SECRET: change it there.",
        )
    from webhooks.services.cancels import cancels_announce  # webhooks imports us

    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        plan = _rotate_locked(locked, secret_new())
        cancels_announce()  # senders holding its deliveries sign with both from now on
    customer.refresh_from_db()
    return plan


def endpoint_create(
    *,
    customer: Customer,
    url: str,
    description: str = "",
    rate_limit: Decimal | float | None = None,
) -> Endpoint:
    """Add an endpoint to ``customer``, its URL checked by the address rules."""
    endpoint = Endpoint(customer=customer, url=url, description=description)
    if rate_limit is not None:
        endpoint.rate_limit = Decimal(str(rate_limit))
    endpoint.full_clean()
    with transaction.atomic():
        endpoint.save()
        endpoints_first_bind([endpoint])
    return endpoint


def endpoints_first_bind(endpoints: Sequence[Endpoint]) -> None:
    """A customer's first endpoints (added together) take its waiting deliveries: bound to
    the first, one copy more for each further one (nothing dropped)."""
    if not endpoints:
        return
    customer_pk = endpoints[0].customer_id
    others = Endpoint.objects.filter(customer_id=customer_pk).exclude(
        pk__in=[e.pk for e in endpoints]
    )
    if others.exists():
        return  # not its first: later leads fan out to it when they are validated
    from webhooks.services.binding import deliveries_bind_endpoint  # webhooks imports us

    deliveries_bind_endpoint(
        customer_pk=customer_pk,
        endpoint_pk=endpoints[0].pk,
        copy_to=[e.pk for e in endpoints[1:]],
    )


@dataclass(frozen=True)
class NewCustomer:
    customer: Customer
    endpoints: list[Endpoint]


def customer_create(
    *,
    slug: str,
    name: str,
    endpoint_urls: Sequence[str] = (),
    rate_limit: Decimal | float | None = None,
    alert_emails: Sequence[str] = (),
    max_leads_per_day: int = 0,
    max_open_batches: int = 0,
) -> NewCustomer:
    """Create a customer with a fresh secret and its endpoints, all or nothing."""
    customer = Customer(
        slug=slug,
        name=name,
        alert_emails=",".join(e.strip() for e in alert_emails if e.strip()),
        max_leads_per_day=max_leads_per_day,
        max_open_batches=max_open_batches,
        secret=secret_new(),
        secret_rotated_at=timezone.now(),
    )
    customer.full_clean()
    with transaction.atomic():
        customer.save()
        endpoints = [
            endpoint_create(customer=customer, url=url, rate_limit=rate_limit)
            for url in endpoint_urls
        ]
    return NewCustomer(customer, endpoints)


def environment_apply() -> Customer:
    """Make `default` match WEBHOOK_SECRET and WEBHOOK_URL; cheap and idempotent.

    Called on first use in every process (and again by each sweep), so a changed environment
    applies with no migrate: a changed secret is a rotation, a removed URL disables the
    environment endpoint (re-enabled, with the new URL, when it is set again).
    """
    secret, url = settings.WEBHOOK_SECRET, settings.WEBHOOK_URL
    customer = Customer.objects.filter(slug=DEFAULT_SLUG).first()
    endpoint = (
        Endpoint.objects.filter(customer=customer, is_environment=True).first()
        if customer
        else None
    )
    if customer and not _environment_differs(customer, endpoint, secret, url):
        return customer
    with transaction.atomic():
        customer, _ = Customer.objects.get_or_create(
            slug=DEFAULT_SLUG, defaults={"name": "Default"}
        )
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if secret and customer.secret != secret:
            _rotate_locked(customer, secret)
        endpoint = Endpoint.objects.filter(customer=customer, is_environment=True).first()
        _environment_endpoint_apply(customer, endpoint, url)
    return customer


def _environment_differs(
    customer: Customer, endpoint: Endpoint | None, secret: str, url: str
) -> bool:
    if secret and customer.secret != secret:
        return True
    if url:
        return endpoint is None or endpoint.url != url or _disabled_by_environment(endpoint)
    return endpoint is not None and endpoint.is_enabled


def _disabled_by_environment(endpoint: Endpoint) -> bool:
    # Health rules may also disable it; only an operator's re-enable undoes those.
    return not endpoint.is_enabled and endpoint.disabled_reason == ENVIRONMENT_UNSET_REASON


def _environment_endpoint_apply(customer: Customer, endpoint: Endpoint | None, url: str) -> None:
    now = timezone.now()
    if not url:
        if endpoint is not None and endpoint.is_enabled:
            Endpoint.objects.filter(pk=endpoint.pk).update(
                is_enabled=False, disabled_reason=ENVIRONMENT_UNSET_REASON, disabled_at=now
            )
        return
    if endpoint is None:
        # Not full_clean(): the environment's URL is the operator's own, checked when sending.
        Endpoint.objects.create(
            customer=customer, url=url, is_environment=True, description="WEBHOOK_URL"
        )
        return
    changes = {"url": url}
    if endpoint.url != url:  # a new receiver: the old one's failures are not its own
        changes.update(failing_since=None, last_success_at=None)
    if _disabled_by_environment(endpoint):
        changes.update(is_enabled=True, disabled_reason="", disabled_at=None, failing_since=None)
    Endpoint.objects.filter(pk=endpoint.pk).update(**changes)


def endpoint_disable(*, endpoint_pk: int, reason: str) -> bool:
    """Disable an endpoint (health rules only disable; an operator archives) and alert its
    customer's recipients; False when it was already disabled."""
    with transaction.atomic():
        endpoint = (
            Endpoint.objects.select_for_update().select_related("customer").get(pk=endpoint_pk)
        )
        if not endpoint.is_enabled:
            return False
        _disable_locked(endpoint, reason)
    return True


def _disable_locked(endpoint: Endpoint, reason: str) -> None:
    endpoint.is_enabled = False
    endpoint.disabled_reason = reason[:200]
    endpoint.disabled_at = timezone.now()
    endpoint.save(update_fields=["is_enabled", "disabled_reason", "disabled_at"])
    logger.warning(
        "customers.endpoint_disabled", extra={"endpoint_pk": endpoint.pk, "reason": reason}
    )
    customer = endpoint.customer
    endpoint_disabled_alert(
        url=endpoint.url,
        customer=f"{customer.name} ({customer.slug})",
        reason=reason,
        recipients=alert_recipients(customer=customer),
    )


@dataclass(frozen=True)
class EndpointHealth:
    """An endpoint's state after its health was recorded."""

    enabled: bool
    disabled_now: bool = False  # by this very call, for sustained failure
    failing_since: datetime | None = None


def endpoints_health_rows(pks: Sequence[int]) -> dict[int, tuple]:
    """Each endpoint's (is_enabled, last_success_at, failing_since), by pk; deleted ones absent."""
    rows = Endpoint.objects.filter(pk__in=pks).values_list(
        "pk", "is_enabled", "last_success_at", "failing_since"
    )
    return {pk: tuple(rest) for pk, *rest in rows}


def endpoint_health_record(
    *,
    endpoint_pk: int,
    now: datetime,
    succeeded_at: datetime | None = None,
    failed_at: datetime | None = None,
    on_disable: Callable[[datetime], object] | None = None,
    row: tuple | None = None,
) -> EndpointHealth | None:
    """Record what attempts to an endpoint showed, then apply the sustained-failure rule.

    ``succeeded_at`` is their latest success (delivered or rejected), ``failed_at`` their
    first failure after it. An enabled endpoint whose every attempt has failed for
    ENDPOINT_DISABLE_AFTER_HOURS by ``now`` is disabled, its recipients alerted, and
    ``on_disable(failing_since)`` called in that transaction. None for an endpoint deleted
    meanwhile.

    Most calls change nothing worth writing (still succeeding, or still failing since the
    same time): they read the row and write nothing, so senders commit nothing more. ``row``
    is that row when the caller read it already (`endpoints_health_rows`, one query for all
    the endpoints of a flush).
    """
    hours = settings.ENDPOINT_DISABLE_AFTER_HOURS
    seen = row or endpoints_health_rows([endpoint_pk]).get(endpoint_pk)
    if seen is None:
        return None
    enabled, before = seen[0], HealthRecord(seen[1], seen[2])
    after = health_after(before, succeeded_at=succeeded_at, failed_at=failed_at)
    if not health_worth_writing(before, after) and not (
        enabled and failing_too_long(after.failing_since, now=now, hours=hours)
    ):
        return EndpointHealth(enabled=enabled, failing_since=after.failing_since)
    with transaction.atomic():
        endpoint = (
            Endpoint.objects.select_for_update()
            .select_related("customer")
            .filter(pk=endpoint_pk)
            .first()
        )
        if endpoint is None:
            return None
        before = HealthRecord(endpoint.last_success_at, endpoint.failing_since)
        after = health_after(before, succeeded_at=succeeded_at, failed_at=failed_at)
        if after != before:
            endpoint.last_success_at = after.last_success_at
            endpoint.failing_since = after.failing_since
            endpoint.save(update_fields=["last_success_at", "failing_since"])
        if not endpoint.is_enabled or not failing_too_long(
            after.failing_since, now=now, hours=hours
        ):
            return EndpointHealth(enabled=endpoint.is_enabled, failing_since=after.failing_since)
        _disable_locked(endpoint, failing_reason(after.failing_since, hours=hours))
        if on_disable is not None:
            on_disable(after.failing_since)
    return EndpointHealth(enabled=False, disabled_now=True, failing_since=after.failing_since)
