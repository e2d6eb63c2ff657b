"""Screening reads: a chunk's numbers against the current TPS list, its leads against the
suppression list; one query each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q, QuerySet

from leads.hashing import lead_key_hashes
from screening.models import Suppression, TpsList, TpsNumber
from screening.values import detect_value, suppression_key


@dataclass(frozen=True, slots=True)
class TpsAnswer:
    screened_at: datetime | None  # the loaded file's date; None: no list loaded
    listed: frozenset[int]


def tps_current() -> TpsList | None:
    return TpsList.objects.filter(is_current=True).first()


_TPS_READS = 5


def tps_listed(numbers: Iterable[int]) -> TpsAnswer:
    """Which of these register numbers (E.164 digits as integers) the current list holds."""
    wanted = set(numbers)
    current_list = TpsList.objects.filter(is_current=True).values_list("pk", "file_date")
    current = current_list.first()
    for _ in range(_TPS_READS):
        if current is None:
            return TpsAnswer(screened_at=None, listed=frozenset())
        if not wanted:
            return TpsAnswer(screened_at=current[1], listed=frozenset())
        listed = frozenset(
            TpsNumber.objects.filter(tps_list_id=current[0], number__in=wanted).values_list(
                "number", flat=True
            )
        )
        # A new list may have become current (and this one's numbers gone) between the two
        # reads, each its own snapshot: then ask the new one. Still current after reading
        # its numbers, the list was whole when they were read (a swap drops it at once).
        again = current_list.first()
        if again == current:
            return TpsAnswer(screened_at=current[1], listed=listed)
        current = again
    # Loads are daily at most: a list that keeps changing under the reads is a fault; the
    # chunk is retried.
    raise RuntimeError(f"the TPS list changed {_TPS_READS} times during one look-up")


def _suppression_scope(customer_pk: int | None) -> Q:
    scope = Q(customer__isnull=True)
    if customer_pk is not None:
        scope |= Q(customer_id=customer_pk)
    return scope


def suppressions_apply(*, customer_pk: int | None) -> bool:
    """Whether any suppression applies to this customer's leads (its own or everyone's)."""
    return Suppression.objects.filter(_suppression_scope(customer_pk)).exists()


def suppressed_keys(*, customer_pk: int | None, keys: Sequence[str]) -> set[str]:
    """The keys (``kind:normal value``) suppressed for this customer or for every customer."""
    if not keys:
        return set()
    hashes = lead_key_hashes(set(keys))
    found = set(
        Suppression.objects.filter(
            _suppression_scope(customer_pk), value_hash__in=set(hashes.values())
        ).values_list("value_hash", flat=True)
    )
    return {key for key, digest in hashes.items() if digest in found}


def suppressions_of_value(queryset: QuerySet[Suppression], value: str) -> QuerySet[Suppression]:
    """The entries among `queryset` that suppress this e-mail, phone, lead id or postcode,
    written as a lead or a file would have it; none when it is none of those. The list holds
    only hashes, so a whole value is looked up, never a part of one."""
    found = detect_value(value, region=settings.PHONE_DEFAULT_REGION)
    if found is None:
        return queryset.none()
    digest = lead_key_hashes({suppression_key(*found)})
    return queryset.filter(value_hash__in=list(digest.values()))
