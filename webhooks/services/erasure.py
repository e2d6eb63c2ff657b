"""Erasure and retention in the outbox: blank what deliveries hold about a person."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Now

from valify.bulk import update_from_rows
from webhooks.models import OPEN_STATUSES, Delivery, DeliveryAttempt
from webhooks.payloads import blank_payload, text_without_person
from webhooks.services.operator import deliveries_cancel
from webhooks.signing import payload_text

ERASE_REASON = "Cancelled: the person's data was erased."
# Payloads read per block while blanking (each is a few hundred bytes).
_BLOCK = 2000


@dataclass
class ErasedDeliveries:
    """What blanking did (or, counted by `deliveries_erasure_counts`, would do)."""

    deliveries: int = 0
    cancelled: int = 0
    attempts: int = 0


def deliveries_of_person(
    *,
    lead_pks: Iterable[int] | QuerySet,
    lead_keys: Collection[str] = (),
    batch_pks: QuerySet | None = None,
) -> QuerySet[Delivery]:
    """Deliveries of these lead rows, and with `lead_keys` those sent under these lead ids.

    `lead_pks` is handed over by the leads app (a list, or a query of the rows' ids); the
    lead ids find deliveries whose link to a lead row is gone (retention emptied it), in
    every batch, or only in `batch_pks` (a query of batch pks) when given.
    """
    match = Q(lead_id__in=lead_pks)
    if lead_keys:
        match |= Q(lead_key__in=list(lead_keys))
    deliveries = Delivery.objects.filter(match)
    return deliveries if batch_pks is None else deliveries.filter(batch_id__in=batch_pks)


def deliveries_erasure_counts(*, deliveries: QuerySet[Delivery]) -> ErasedDeliveries:
    """Count what `deliveries_erase_person` would change; change nothing."""
    return ErasedDeliveries(
        deliveries=deliveries.count(),
        cancelled=deliveries.filter(status__in=OPEN_STATUSES).count(),
        attempts=DeliveryAttempt.objects.filter(delivery__in=deliveries)
        .exclude(response_excerpt="")
        .count(),
    )


def deliveries_erase_person(
    *,
    lead_pks: Iterable[int] | QuerySet,
    lead_keys: Collection[str] = (),
    batch_pks: QuerySet | None = None,
    reason: str = ERASE_REASON,
) -> ErasedDeliveries:
    """Cancel the open deliveries of a person and blank what every one of them holds.

    Each payload keeps its shape with the person's values null, the lead key is emptied
    and the receivers' answers (attempt excerpts) are blanked; what was sent, when and
    where stays. Open deliveries are cancelled first, those already claimed included, so
    none goes out blank; every one is marked erased, so none is re-sent. Safe to run again:
    a blanked delivery is not written twice.
    """
    deliveries = deliveries_of_person(lead_pks=lead_pks, lead_keys=lead_keys, batch_pks=batch_pks)
    report = ErasedDeliveries()
    with transaction.atomic():
        report.cancelled = len(
            deliveries_cancel(deliveries=deliveries, reason=reason, in_flight=True)
        )
        # Marked before the lead keys that found them are emptied; a blank payload is not
        # the lead's, so an operator's re-send must never send it.
        deliveries.filter(erased_at__isnull=True).update(erased_at=Now())
        pks: list[int] = []
        rows = []
        for pk, lead_key, payload, reason in (
            deliveries.order_by("pk")
            .values_list("pk", "lead_key", "payload", "rejected_reason")
            .iterator(chunk_size=_BLOCK)
        ):
            pks.append(pk)
            person = payload if isinstance(payload, dict) else {}
            blanked = blank_payload(person)
            # A receiver's reason may quote the person: their values go, the reason stays.
            scrubbed = text_without_person(reason, person, (lead_key,)) if reason else reason
            if blanked != payload or lead_key or scrubbed != reason:
                rows.append((pk, payload_text(blanked), scrubbed))
        for start in range(0, len(rows), _BLOCK):
            report.deliveries += len(
                update_from_rows(
                    Delivery._meta.db_table,
                    key="id",
                    columns=(("payload", "json"), ("rejected_reason", "text")),
                    rows=rows[start : start + _BLOCK],
                    extra_set="lead_key = ''",
                )
            )
        for start in range(0, len(pks), _BLOCK):
            report.attempts += excerpts_blank(delivery_pks=pks[start : start + _BLOCK])
    return report


def excerpts_blank(*, delivery_pks: Collection[int]) -> int:
    """Blank what receivers answered about these deliveries; return how many attempts changed."""
    return (
        DeliveryAttempt.objects.filter(delivery_id__in=delivery_pks)
        .exclude(response_excerpt="")
        .update(response_excerpt="")
    )


def erased_answers_blank(*, delivery_pks: Collection[int]) -> None:
    """Blank the answers just recorded for those of these deliveries erased meanwhile (a
    request on the wire when its person was erased is answered after the erasure ran): the
    excerpts, and a rejection's reason, whose values can no longer be told (the payload is
    blank)."""
    # Locked, not only read: an erasure marking one of them now (after this transaction
    # wrote the answers, which it cannot see) is waited for, so its mark is seen here.
    rows = (
        Delivery.objects.select_for_update()
        .filter(pk__in=delivery_pks)
        .order_by("pk")
        .values_list("pk", "erased_at")
    )
    erased_pks = [pk for pk, erased_at in rows if erased_at is not None]
    if erased_pks:
        erased = Delivery.objects.filter(pk__in=erased_pks)
        erased.exclude(rejected_reason="").update(rejected_reason="")
        excerpts_blank(delivery_pks=erased_pks)
