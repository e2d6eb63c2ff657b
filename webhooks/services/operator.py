"""Operator writes: re-send deliveries as new ones, cancel unsent ones."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from batches.models import BatchJob
from webhooks.models import DUE_STATUSES, FINAL_STATUSES, Delivery, DeliveryStatus
from webhooks.payloads import resent_payload
from webhooks.selectors import deliveries_resendable
from webhooks.services.cancels import cancels_announce

logger = logging.getLogger(__name__)

CANCEL_REASON = "Cancelled by an operator."


def deliveries_resend(*, deliveries: QuerySet[Delivery]) -> list[Delivery]:
    """Create a new delivery for each finished, not yet re-sent one; return the new ones.

    A re-send is a new message for the receiver (new webhook-id, `resend_of` set) with
    the same frozen payload, plus `resend_of`: the original's webhook-id; it is due now.
    Open deliveries are on their way already and deliveries re-sent before are skipped,
    so repeating a re-send never doubles one.
    """
    try:
        created = _resend(deliveries)
    except IntegrityError:
        # Another operator re-sent some of these meanwhile (one re-send per delivery is
        # a constraint): read again, their re-sends now exclude them.
        created = _resend(deliveries)
    if created:
        logger.info(
            "webhooks.resent",
            extra={
                "count": len(created),
                "delivery_ids": [d.pk for d in created][:100],
                "resend_of": [d.resend_of_id for d in created][:100],
            },
        )
    return created


def _resend(deliveries: QuerySet[Delivery]) -> list[Delivery]:
    now = timezone.now()
    with transaction.atomic():
        originals = deliveries_resendable(deliveries).only(
            "pk", "msg_id", "batch_id", "lead_id", "lead_key", "payload", "customer_endpoint_id"
        )
        return Delivery.objects.bulk_create(
            [
                Delivery(
                    batch_id=original.batch_id,
                    lead_id=original.lead_id,
                    lead_key=original.lead_key,
                    payload=resent_payload(original.payload, original_msg_id=original.msg_id),
                    customer_endpoint_id=original.customer_endpoint_id,
                    due_at=now,
                    next_attempt_at=now,
                    resend_of_id=original.pk,
                )
                for original in originals.order_by("pk").iterator(chunk_size=2000)
            ],
            batch_size=500,
        )


def delivery_resend(*, delivery: Delivery) -> Delivery | None:
    """Re-send one delivery; None when it is still open or was re-sent already."""
    created = deliveries_resend(deliveries=Delivery.objects.filter(pk=delivery.pk))
    return created[0] if created else None


def batch_deliveries_resend(*, batch: BatchJob, failed_only: bool) -> list[Delivery]:
    """Re-send a batch's failed deliveries, or all its finished ones."""
    statuses = [DeliveryStatus.FAILED] if failed_only else list(FINAL_STATUSES)
    return deliveries_resend(
        deliveries=Delivery.objects.filter(batch_id=batch.pk, status__in=statuses)
    )


def deliveries_cancel(
    *, deliveries: QuerySet[Delivery], reason: str = CANCEL_REASON, in_flight: bool = False
) -> list[int]:
    """Cancel deliveries not yet sent; return the ids of those cancelled.

    Scheduled and retrying ones, and `sending` ones whose lease lapsed (their sender
    died). One claimed under a live lease is left alone unless `in_flight`: its request may
    be under way. With `in_flight` it is cancelled too: its sender, which reads its hold
    right before each request, sends nothing more of it, and records only a request that
    was already on the wire. Otherwise the lease token is cleared, so a late sender's
    outcome is not recorded over this.
    """
    now = timezone.now()
    cancellable = Q(status__in=DUE_STATUSES)
    if in_flight:
        cancellable |= Q(status=DeliveryStatus.SENDING)
    else:
        cancellable |= Q(status=DeliveryStatus.SENDING, lease_expires_at__lt=Now())
    with transaction.atomic():
        # Locked first, so a sweep (SKIP LOCKED) cannot claim one between read and write.
        pks = list(
            deliveries.filter(cancellable)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        chosen = Delivery.objects.filter(cancellable, pk__in=pks)
        cancelled = {"status": DeliveryStatus.CANCELLED, "last_error": reason, "updated_at": now}
        if in_flight:
            # A claimed one keeps its sender's token: the sender then records a request that
            # was already on the wire (delivered, if the receiver took it), and sends no more.
            chosen.filter(status=DeliveryStatus.SENDING, lease_expires_at__gte=Now()).update(
                lease_expires_at=None, **cancelled
            )
        chosen.exclude(status=DeliveryStatus.CANCELLED).update(
            lease_token=None, lease_expires_at=None, **cancelled
        )
        if in_flight and pks:
            cancels_announce()  # senders holding some of these hear of it when this commits
    if pks:
        logger.info("webhooks.cancelled", extra={"count": len(pks), "delivery_ids": pks[:100]})
    return pks


def batch_deliveries_cancel(*, batch_pk: int, reason: str) -> int:
    """Cancel every unsent delivery of a batch, those already claimed included."""
    return len(
        deliveries_cancel(
            deliveries=Delivery.objects.filter(batch_id=batch_pk), reason=reason, in_flight=True
        )
    )


def deliveries_forget_leads(*, lead_pks: QuerySet) -> int:
    """Empty the lead link of deliveries whose lead rows are about to be deleted.

    The delivery keeps its frozen payload and attempt log; `lead_pks` is a query of the
    lead rows' ids, handed over by the app that owns them.
    """
    return Delivery.objects.filter(lead_id__in=lead_pks).update(lead=None)
