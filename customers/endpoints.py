"""Operator changes to an endpoint at run time: its rate and whether it is enabled."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from batches.services.history import history_record
from customers.models import Endpoint
from webhooks.services.binding import deliveries_release_endpoint

ENDPOINT_CHANGE_FIELDS = ("rate_limit", "enabled")
RATE_LIMIT_MAX = Decimal("9999999.99")  # what the column holds (9 digits, 2 decimals)


class EndpointChangeRefused(ValueError):
    """A change request that is not a JSON object of `rate_limit` and/or `enabled`."""


@dataclass(frozen=True)
class EndpointChange:
    rate_limit: Decimal | None = None
    enabled: bool | None = None


def endpoint_change_parse(body: object) -> EndpointChange:
    """Check a change request; raise EndpointChangeRefused naming the offending field."""
    if not isinstance(body, dict) or not body:
        raise EndpointChangeRefused("Send a JSON object with 'rate_limit' and/or 'enabled'.")
    unknown = sorted(set(body) - set(ENDPOINT_CHANGE_FIELDS))
    if unknown:
        raise EndpointChangeRefused(
            f"Unknown field(s): {', '.join(unknown)}; only rate_limit and enabled may change."
        )
    rate = body.get("rate_limit")
    if "rate_limit" in body:
        # bool is an int in Python; true is not a rate.
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise EndpointChangeRefused("rate_limit must be a number >= 0 (0 = unlimited).")
        try:
            rate = Decimal(str(rate))
        except InvalidOperation:
            raise EndpointChangeRefused("rate_limit must be a finite number.") from None
        if not rate.is_finite() or not Decimal(0) <= rate <= RATE_LIMIT_MAX:
            raise EndpointChangeRefused(f"rate_limit must be between 0 and {RATE_LIMIT_MAX}.")
        if Decimal(0) < rate < Decimal("0.01"):  # rounded, it would be 0: unlimited
            raise EndpointChangeRefused(
                "rate_limit must be 0 (unlimited) or at least 0.01 requests a second."
            )
        rate = rate.quantize(Decimal("0.01"))
    enabled = body.get("enabled")
    if "enabled" in body and not isinstance(enabled, bool):
        raise EndpointChangeRefused("enabled must be true or false.")
    return EndpointChange(rate_limit=rate, enabled=enabled)


def endpoint_change(*, endpoint_pk: int, change: EndpointChange, user, via: str) -> dict:
    """Apply ``change`` and record it in the admin history; return the new state.

    Re-enabling clears why it was disabled and makes its waiting deliveries that are
    already past their first due time due now, so they go out at the endpoint's rate.
    """
    now = timezone.now()
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_pk)
        previous = endpoint.rate_limit
        said = []
        if change.rate_limit is not None and change.rate_limit != endpoint.rate_limit:
            endpoint.rate_limit = change.rate_limit
            said.append(f"rate limit {previous} → {change.rate_limit} req/s")
        if change.enabled is True and not endpoint.is_enabled:
            endpoint.is_enabled = True
            endpoint_reenabled(endpoint, now=now)
            said.append("re-enabled")
        elif change.enabled is False and endpoint.is_enabled:
            endpoint_disabled_by_operator(endpoint, now=now)
            said.append("disabled")
        if said:
            endpoint.save(
                update_fields=[
                    "rate_limit",
                    "is_enabled",
                    "disabled_reason",
                    "disabled_at",
                    "failing_since",
                ]
            )
            history_record(
                user=user, obj=endpoint, message=f"{'; '.join(said).capitalize()} ({via})."
            )
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "enabled": endpoint.is_enabled,
        "rate_limit": float(endpoint.rate_limit),
        "previous_rate_limit": float(previous),
    }


def endpoint_reenabled(endpoint: Endpoint, *, now=None) -> int:
    """Forget why ``endpoint`` (just enabled) was disabled and release its waiting deliveries.

    Those already past their first due time become due now (a customer's delay is kept);
    return how many. Its failures so far are forgiven: the health rule counts afresh from
    the next one. The caller saves the endpoint.
    """
    now = now or timezone.now()
    endpoint.disabled_reason, endpoint.disabled_at = "", None
    endpoint.failing_since = None
    return deliveries_release_endpoint(endpoint_pk=endpoint.pk, now=now)


def endpoint_disabled_by_operator(endpoint: Endpoint, *, now=None) -> None:
    """Mark ``endpoint`` (just disabled by an operator) disabled since now, and why, as the
    health rules do; tell the senders. The caller saves the endpoint."""
    endpoint.is_enabled = False
    endpoint.disabled_at = now or timezone.now()
    endpoint.disabled_reason = OPERATOR_DISABLED
    endpoint_disabled_announce()


OPERATOR_DISABLED = "Disabled by an operator"


def endpoint_disabled_announce() -> None:
    """Tell the senders (when the disabling transaction commits): those holding the
    endpoint's deliveries give them back before their next request."""
    from webhooks.services.cancels import cancels_announce  # webhooks imports us

    cancels_announce()
