"""Judge an answered attempt: delivered, rejected by the receiver, retried, or failed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from webhooks.models import DeliveryStatus
from webhooks.retry import retry_decision
from webhooks.services.claims import ClaimedDelivery
from webhooks.services.outcomes import Outcome
from webhooks.transport import SendResult
from webhooks.verdicts import GONE, GONE_ERROR, rejection_reason

if TYPE_CHECKING:  # sending.py builds the config and imports the page, which imports this
    from webhooks.services.sending import SendingConfig

logger = logging.getLogger(__name__)


def judge(
    config: SendingConfig, delivery: ClaimedDelivery, started_at: datetime, result: SendResult
) -> Outcome:
    """2xx is delivered; a reject status is rejected; anything else is retried, then failed.

    A 410 from an endpoint (the environment's WEBHOOK_URL endpoint too) disables it; from a
    batch's own URL it fails the delivery at once (the sender then fails the batch's other
    open deliveries there); both rules win over the reject statuses. A delivery bound to no
    endpoint, sent to WEBHOOK_URL as it stands, retries a 410 like any other answer.
    """
    answered = started_at + timedelta(milliseconds=result.duration_ms)
    if result.status_code == GONE and delivery.endpoint_pk is not None:
        # A customer's endpoint has gone: the sender disables it; this delivery waits with
        # the rest of the endpoint's (its attempt logged and counted, no retry used).
        logger.warning(
            "webhooks.endpoint_gone",
            extra={"delivery_id": delivery.pk, "endpoint_pk": delivery.endpoint_pk},
        )
        result.error = GONE_ERROR
        return outcome_of(
            delivery, started_at, result, status=DeliveryStatus.SCHEDULED, next_attempt_at=answered
        )
    if result.status_code == GONE and delivery.endpoint != config.default_url:
        logger.warning(
            "webhooks.gone", extra={"delivery_id": delivery.pk, "batch_pk": delivery.batch_pk}
        )
        result.error = GONE_ERROR
        return outcome_of(delivery, started_at, result, status=DeliveryStatus.FAILED)
    if result.status_code != GONE and result.status_code in config.reject_statuses:
        return outcome_of(
            delivery,
            started_at,
            result,
            status=DeliveryStatus.REJECTED,
            rejected_reason=rejection_reason(result.body_excerpt),
        )
    decided, next_attempt_at = retry_decision(
        ok=result.ok,
        attempt=delivery.attempt,
        schedule=config.schedule,
        retry_after=result.retry_after,
        answered_at=answered,
    )
    status = DeliveryStatus(decided)
    if status == DeliveryStatus.FAILED:
        logger.warning(
            "webhooks.failed",
            extra={
                "delivery_id": delivery.pk,
                "batch_pk": delivery.batch_pk,
                "attempts": delivery.attempt,
            },
        )
    return outcome_of(
        delivery,
        started_at,
        result,
        status=status,
        next_attempt_at=next_attempt_at,
        delivered_at=answered if status == DeliveryStatus.DELIVERED else None,
    )


def is_gone(outcome: Outcome) -> bool:
    """Whether this outcome is a batch's own URL answering 410 Gone."""
    return outcome.status == DeliveryStatus.FAILED and outcome.error == GONE_ERROR


def is_endpoint_gone(outcome: Outcome) -> bool:
    """Whether this outcome is a customer's endpoint answering 410 Gone."""
    return outcome.status == DeliveryStatus.SCHEDULED and outcome.error == GONE_ERROR


def outcome_of(
    delivery: ClaimedDelivery, started_at: datetime, result: SendResult, **state
) -> Outcome:
    error = result.error
    if not result.ok and not error and result.status_code is not None:
        error = f"HTTP {result.status_code}"
    return Outcome(
        delivery_pk=delivery.pk,
        attempt=delivery.attempt,
        endpoint=delivery.endpoint,
        started_at=started_at,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        excerpt=result.body_excerpt,
        error=error,
        endpoint_pk=delivery.endpoint_pk,
        **state,
    )
