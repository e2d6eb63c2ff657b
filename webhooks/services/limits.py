"""Customers' delivery windows and daily caps, held to within a claimed page.

A claim leaves out the customers held when it is made (outside their window, at their cap),
but it may take more of a capped customer than the cap has left today, and a window may
close while the page is sent. So, while some customer has a cap, claims are made one at a
time, counting what other senders hold as taken, and each keeps only what each customer's
cap has left (the rest is given back unsent); and right before each request a page checks
its customer's window, giving back that customer's deliveries until it opens again once it
has closed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from batches.models import BatchJob
from customers.selectors import DeliveryLimits, customer_windows, delivery_limits
from valify.bulk import serialise
from valify.timefmt import local_midnight
from webhooks.selectors import taken_since_by_customer
from webhooks.services.claims import Claim, ClaimedDelivery, claim_release

# Held by each claim while some customer has a daily cap.
CAPPED_CLAIMS_LOCK = zlib.crc32(b"valify.webhooks.capped_claims")


def limits_now() -> DeliveryLimits:
    """What the customers' windows and caps allow now (delivered and being sent: taken)."""
    now = timezone.now()
    return delivery_limits(
        now=now, taken_today=lambda: taken_since_by_customer(local_midnight(now))
    )


@dataclass
class PageLimits:
    """The windows and caps a page is held to, and its batches' customers."""

    limits: DeliveryLimits
    customer_of: dict[int, int] = field(default_factory=dict)  # batch pk -> customer pk

    def learn(self, rows: list[ClaimedDelivery]) -> None:
        """Read the customers of these rows' batches (only when some limit needs them)."""
        if not (self.limits.caps_left or self.limits.windows):
            return
        unknown = {row.batch_pk for row in rows} - self.customer_of.keys()
        if unknown:
            found = BatchJob.objects.filter(pk__in=unknown).values_list("pk", "customer_id")
            self.customer_of.update(found)

    def keep_within_caps(self, claim: Claim, rows: list[ClaimedDelivery]) -> list[ClaimedDelivery]:
        """Give back (unsent, their attempt undone) those of ``rows`` past their customer's
        cap for today; return the others, in their order."""
        if not self.limits.caps_left:
            return rows
        self.learn(rows)
        left = dict(self.limits.caps_left)
        kept, over = [], []
        for row in rows:
            customer = self.customer_of.get(row.batch_pk)
            if customer in left:
                if left[customer] <= 0:
                    over.append(row.pk)
                    continue
                left[customer] -= 1
            kept.append(row)
        claim_release(claim=claim, pks=over)
        return kept

    def reopens_at(self, delivery: ClaimedDelivery, now: datetime) -> datetime | None:
        """When ``delivery``'s customer's window, closed at ``now``, opens again; None while
        it is open (or the customer has none)."""
        if not self.limits.windows:
            return None
        window = self.limits.windows.get(self.customer_of.get(delivery.batch_pk))
        if window is None:
            return None
        local = timezone.localtime(now)
        return None if window.is_open(local) else window.next_open(local)

    def same_customer(self, delivery: ClaimedDelivery) -> Callable[[ClaimedDelivery], bool]:
        """Whether another delivery is of ``delivery``'s customer."""
        customer = self.customer_of.get(delivery.batch_pk)
        return lambda other: self.customer_of.get(other.batch_pk) == customer

    def refresh_windows(self, rows: list[ClaimedDelivery]) -> None:
        """Read the customers' windows again: an operator may change one mid-page."""
        self.limits = replace(self.limits, windows=customer_windows())
        self.learn(rows)

    def follow(self, newer: PageLimits) -> None:
        """Take a later claim's limits (a top-up's), keeping the customers known."""
        self.limits = newer.limits
        self.customer_of.update(newer.customer_of)


def claim_within_limits(
    claim: Callable[[DeliveryLimits], tuple[Claim, list[ClaimedDelivery]]],
) -> tuple[Claim, list[ClaimedDelivery], PageLimits]:
    """Run ``claim`` (given what the limits hold now; it returns its claim and the rows it
    took) and keep of its rows what the customers' caps let through today.

    While some customer has a cap, claims are made one at a time: each reads what is taken
    (delivered today, and claimed by others) after the one before has committed.
    """
    limits = limits_now()
    if not limits.capped:
        made, rows = claim(limits)
        page_limits = PageLimits(limits)
        page_limits.learn(rows)
        return made, rows, page_limits
    with transaction.atomic():
        serialise(CAPPED_CLAIMS_LOCK)
        page_limits = PageLimits(limits_now())  # read again: another claim may have gone first
        made, rows = claim(page_limits.limits)
        rows = page_limits.keep_within_caps(made, rows)
        page_limits.learn(rows)
    return made, rows, page_limits
