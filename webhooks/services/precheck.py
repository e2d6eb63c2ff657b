"""What a page knows of a delivery without sending it: its endpoint refused or not
resolving now, or too many claims without an answer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from webhooks.addresses import EndpointRefused, EndpointUnresolvable
from webhooks.models import DeliveryStatus
from webhooks.retry import MAX_ATTEMPTS
from webhooks.services.claims import ClaimedDelivery
from webhooks.services.judge import judge, outcome_of
from webhooks.services.outcomes import Outcome
from webhooks.transport import SendResult, Transport

if TYPE_CHECKING:  # page.py holds the page and imports this module
    from webhooks.services.page import _Page

logger = logging.getLogger(__name__)


def endpoint_outcome(
    page: _Page, delivery: ClaimedDelivery, transport: Transport
) -> Outcome | None:
    """Check the endpoint before waiting for a slot: None when it may be sent to.

    An endpoint the address rules refuse fails the delivery at once, with the reason; one
    whose name does not resolve right now is retried like a connection error.
    """
    endpoint = delivery.endpoint
    if endpoint not in page.endpoints:
        try:
            transport.resolve(endpoint)
            page.endpoints[endpoint] = None
        except EndpointRefused as refused:
            page.endpoints[endpoint] = refused
            logger.warning(
                "webhooks.endpoint_refused",
                extra={
                    "delivery_id": delivery.pk,
                    "batch_pk": delivery.batch_pk,
                    "reason": refused.reason,
                },
            )
        except Exception as exc:  # not cached: the next delivery to it checks again
            error = unexpected(exc, delivery, "webhooks.endpoint_check_error")
            result = SendResult(ok=False, status_code=None, duration_ms=0, error=error)
            return judge(page.config, delivery, page.claim.now(), result)
    refused = page.endpoints[endpoint]
    if refused is None:
        return None
    if isinstance(refused, EndpointUnresolvable):
        result = SendResult(ok=False, status_code=None, duration_ms=0, error=refused.reason)
        return judge(page.config, delivery, page.claim.now(), result)
    error = f"Endpoint refused: {refused.reason}"
    result = SendResult(ok=False, status_code=None, duration_ms=0, error=error)
    return outcome_of(delivery, page.claim.now(), result, status=DeliveryStatus.FAILED)


def given_up_outcome(page: _Page, delivery: ClaimedDelivery) -> Outcome | None:
    """Fail a delivery claimed more than MAX_ATTEMPTS times, without a request.

    Answered attempts end by the schedule long before; only claims that never recorded
    an outcome (a sender killed mid-request, again and again) get this far.
    """
    if delivery.attempt <= MAX_ATTEMPTS:
        return None
    error = (
        f"Gave up: claimed {delivery.attempt} times, more than the {MAX_ATTEMPTS} attempts "
        "a delivery may use, without a recorded answer"
    )
    logger.warning(
        "webhooks.given_up",
        extra={
            "delivery_id": delivery.pk,
            "batch_pk": delivery.batch_pk,
            "attempts": delivery.attempt,
        },
    )
    result = SendResult(ok=False, status_code=None, duration_ms=0, error=error)
    return outcome_of(delivery, page.claim.now(), result, status=DeliveryStatus.FAILED)


def unexpected(exc: Exception, delivery: ClaimedDelivery, event: str) -> str:
    logger.exception(event, extra={"delivery_id": delivery.pk, "batch_pk": delivery.batch_pk})
    return f"Unexpected error: {type(exc).__name__}: {exc}"[:1000]
