"""Deliveries and their customer's endpoints: bound to the first one added, sent back to wait
when one is disabled for failing, released when one is re-enabled."""

from collections.abc import Sequence
from datetime import datetime
from itertools import islice

from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Least, Now

from webhooks.models import OPEN_STATUSES, Delivery, DeliveryStatus

_COPY_BATCH = 2000
EARLIER_MAX = 2_147_483_647  # earlier_attempts' column (PostgreSQL integer) never overflows


def deliveries_bind_endpoint(
    *, customer_pk: int, endpoint_pk: int, copy_to: Sequence[int] = ()
) -> int:
    """Give the customer's open deliveries with no endpoint (and no batch URL) this one, and
    a copy of each, under its own webhook id, to every endpoint of ``copy_to``: the fan-out
    they missed while the customer had no endpoint. Returns how many were bound."""
    unbound = Delivery.objects.filter(
        batch__customer_id=customer_pk,
        batch__webhook_url="",
        customer_endpoint__isnull=True,
        status__in=OPEN_STATUSES,
    )
    if copy_to:
        copies = (
            Delivery(
                batch_id=delivery.batch_id,
                lead_id=delivery.lead_id,
                lead_key=delivery.lead_key,
                payload=delivery.payload,
                status=DeliveryStatus.SCHEDULED,  # never attempted: it waited for an endpoint
                due_at=delivery.due_at,
                next_attempt_at=delivery.next_attempt_at,
                customer_endpoint_id=other_pk,
            )
            for delivery in unbound.only(
                "batch_id", "lead_id", "lead_key", "payload", "due_at", "next_attempt_at"
            ).iterator(chunk_size=_COPY_BATCH)
            for other_pk in copy_to
        )
        while block := list(islice(copies, _COPY_BATCH)):
            Delivery.objects.bulk_create(block)
    return unbound.update(customer_endpoint_id=endpoint_pk)


def deliveries_release_endpoint(*, endpoint_pk: int, now: datetime) -> int:
    """Make an endpoint's waiting deliveries due now (it was re-enabled); those still inside
    their customer's delay keep their time. Returns how many."""
    return Delivery.objects.filter(
        customer_endpoint_id=endpoint_pk,
        status=DeliveryStatus.SCHEDULED,
        due_at__lte=now,
        next_attempt_at__gt=now,
    ).update(next_attempt_at=now)


def deliveries_rewait_endpoint(
    *,
    endpoint_pk: int,
    failed_since: datetime | None = None,
    pks: Sequence[int] | None = None,
) -> int:
    """Send a disabled endpoint's deliveries back to wait as `scheduled`, no attempt used.

    Its `retrying` deliveries, and its `failed` ones that failed since ``failed_since`` (with
    ``pks``: only those of these), restart their retry schedule once the endpoint is
    re-enabled: the attempts count is cleared (added to `earlier_attempts`, which the lead's
    webhook_attempts still count), the attempt log kept. A failed delivery an
    operator has re-sent stays failed (its re-send carries the lead), and so does one whose
    person was erased (its payload blank). Returns how many.
    """
    scope = Delivery.objects.filter(customer_endpoint_id=endpoint_pk)
    if pks is not None:
        scope = scope.filter(pk__in=pks)
    failed = (
        Q(status=DeliveryStatus.FAILED)
        & Q(erased_at__isnull=True)
        & ~Exists(Delivery.objects.filter(resend_of=OuterRef("pk")))
    )
    if failed_since is not None:
        failed &= Q(updated_at__gte=failed_since)
    return scope.filter(Q(status=DeliveryStatus.RETRYING) | failed).update(
        status=DeliveryStatus.SCHEDULED,
        earlier_attempts=Least(F("earlier_attempts") + F("attempts"), Value(EARLIER_MAX)),
        attempts=0,
        updated_at=Now(),
    )
