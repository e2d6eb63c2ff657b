"""Which delivery of a claimed page goes next: each endpoint's in claim order, a limited
endpoint's at its rate, and no endpoint's wait for its slot holding up the others."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from customers.selectors import endpoint_rate_limits
from webhooks.ratelimit import RateLimiter

if TYPE_CHECKING:
    from webhooks.services.claims import ClaimedDelivery
    from webhooks.services.outcomes import Outcome

logger = logging.getLogger(__name__)

# How often a sender re-reads the rates of the endpoints it is sending to: an operator's
# change takes hold within about this long, even in a page that lasts minutes at 1/s.
RATE_CHECK_SECONDS = 1.0
# A 1/s endpoint's slots come a second apart on a schedule, and a read is made on waking
# for one, a little late: without this slack the next slot could come a hair before the
# next read, and a rate change wait a second more.
RATE_CHECK_SLACK = 0.05
# A page holds about this many seconds of a limited endpoint's sending before it claims no
# more of it: enough that the endpoint never waits for a claim, little that other senders
# could have sent.
HOLD_AHEAD_SECONDS = 2.0


@dataclass(frozen=True)
class Pick:
    index: int | None = None  # into the page's deliveries to send; None: none may go yet
    outcome: Outcome | None = None  # its outcome when known without a request
    # With no index: seconds until the soonest slot reserved; None when no endpoint of the
    # page has a slot within the lease.
    wait: float | None = None


def endpoint_key(delivery: ClaimedDelivery) -> str:
    return f"endpoint-{delivery.endpoint_pk}" if delivery.endpoint_pk else delivery.endpoint


def rate_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class Pacer:
    """One page's view of the rate limits: rates read every RATE_CHECK_SECONDS and the slot
    reserved (at most one per endpoint) for each limited endpoint's next delivery.

    A slot is reserved as soon as an endpoint's next delivery is looked at (and the one
    after as soon as that slot is used), and the page sends to other endpoints until it
    comes: a slot used a little late still counts at its own time, so the endpoint keeps
    its rate while the others are not held up.
    """

    limiter: RateLimiter
    default_rate: float  # for a batch's own URL and WEBHOOK_URL
    slots: dict[str, float] = field(default_factory=dict)  # key -> time.monotonic() it comes
    rates: dict[int, float] = field(default_factory=dict)
    expected: set[int] = field(default_factory=set)  # endpoint pks whose rate may be asked
    rates_read_at: float = field(default_factory=time.monotonic)

    def expect(self, deliveries: Iterable[ClaimedDelivery]) -> None:
        """Note the page's endpoints, so their rates are read together, in one query."""
        self.expected.update(d.endpoint_pk for d in deliveries if d.endpoint_pk is not None)

    def rate_for(self, delivery: ClaimedDelivery) -> float:
        if delivery.endpoint_pk is None:
            return self.default_rate
        if time.monotonic() - self.rates_read_at >= RATE_CHECK_SECONDS - RATE_CHECK_SLACK:
            self.rates, self.rates_read_at = {}, time.monotonic()
        if delivery.endpoint_pk not in self.rates:
            self.expected.add(delivery.endpoint_pk)
            self.rates.update(endpoint_rate_limits(endpoint_pks=self.expected - set(self.rates)))
        return self.rates[delivery.endpoint_pk]

    def pick(
        self,
        todo: list[ClaimedDelivery],
        *,
        budget: float,
        known_outcome: Callable[[ClaimedDelivery], Outcome | None],
    ) -> Pick:
        """The first delivery that may go now, looking only at each endpoint's next one.

        ``budget`` bounds how far ahead a slot may be reserved (what the lease allows);
        ``known_outcome`` answers a delivery that needs no request (given up, refused).
        """
        seen: set[str] = set()
        soonest = None
        for index, delivery in enumerate(todo):
            key = endpoint_key(delivery)
            if key in seen:
                continue
            seen.add(key)
            outcome = known_outcome(delivery)
            if outcome is not None:
                return Pick(index=index, outcome=outcome)
            rate = self.rate_for(delivery)
            if rate <= 0:
                self.slots.pop(key, None)
                return Pick(index=index)
            slot = self.slots.get(key)
            if slot is None:
                slot = self._reserve(delivery, key, rate, budget)
                if slot is None:
                    continue
            if slot <= time.monotonic():
                del self.slots[key]
                # The endpoint's next slot is reserved now, before this request: a sender
                # late by less than an interval then loses none of the endpoint's rate.
                following = next((d for d in todo[index + 1 :] if endpoint_key(d) == key), None)
                if following is not None:
                    self._reserve(following, key, rate, budget)
                return Pick(index=index)
            soonest = slot if soonest is None else min(soonest, slot)
        if soonest is None:
            return Pick()
        return Pick(wait=max(0.0, soonest - time.monotonic()))

    def held_enough(self, todo: list[ClaimedDelivery]) -> tuple[tuple[int, ...], bool]:
        """The limited endpoints of which ``todo`` holds HOLD_AHEAD_SECONDS of sending or
        more, as (customer endpoint pks, whether a batch URL or WEBHOOK_URL is one)."""
        counts: dict[str, int] = {}
        first: dict[str, ClaimedDelivery] = {}
        for delivery in todo:
            key = endpoint_key(delivery)
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, delivery)
        endpoints, default_route = [], False
        for key, count in counts.items():
            delivery = first[key]
            # The rates pick() just used: a read here would move the next re-read later.
            rate = self.rates.get(delivery.endpoint_pk) if delivery.endpoint_pk else None
            if rate is None:
                rate = self.rate_for(delivery)
            if rate > 0 and count >= max(1.0, rate * HOLD_AHEAD_SECONDS):
                if delivery.endpoint_pk is None:
                    default_route = True
                else:
                    endpoints.append(delivery.endpoint_pk)
        return tuple(endpoints), default_route

    def _reserve(
        self, delivery: ClaimedDelivery, key: str, rate: float, budget: float
    ) -> float | None:
        if budget <= 0:
            return None
        try:
            wait = self.limiter.reserve(rate_key(key), rate, timeout=budget)
        except Exception:
            # Redis unreachable: stop rather than send unlimited; the page goes back.
            logger.exception("webhooks.rate_limiter_failed", extra={"delivery_id": delivery.pk})
            return None
        if wait is None:
            return None
        self.slots[key] = slot = time.monotonic() + wait
        return slot
