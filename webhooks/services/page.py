"""Send one claimed page in order: lease renewal, rate-limit slots, bulk-recorded outcomes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from customers.selectors import batch_signing_secrets, endpoints_disabled
from webhooks.addresses import EndpointRefused, EndpointUnresolvable, url_for_log
from webhooks.models import DeliveryStatus
from webhooks.process import process_limiter, process_transport
from webhooks.selectors import sending_paused
from webhooks.services.cancels import CancelWatch
from webhooks.services.claims import (
    Claim,
    ClaimedDelivery,
    claim_forget_cancelled,
    claim_held,
    claim_release,
    claim_renew,
)
from webhooks.services.health import endpoints_health_note
from webhooks.services.holds import ANSWERED, hold_until, is_unresponsive, route_hold
from webhooks.services.judge import is_endpoint_gone, is_gone, judge, outcome_of
from webhooks.services.outcomes import Outcome, deliveries_record_outcomes
from webhooks.services.pacing import Pacer
from webhooks.services.precheck import endpoint_outcome, given_up_outcome, unexpected
from webhooks.services.stats import SendStats
from webhooks.services.verdicts import batch_deliveries_gone, endpoint_gone
from webhooks.signing import signed_headers
from webhooks.transport import SendResult, Transport

if TYPE_CHECKING:  # sending.py builds the config and imports this module
    from datetime import datetime

    from webhooks.services.limits import PageLimits
    from webhooks.services.sending import SendingConfig

logger = logging.getLogger(__name__)

FLUSH_EVERY = 100  # record outcomes after this many sends...
FLUSH_SECONDS = 1.0  # ...or this long, whichever comes first
LEASE_MARGIN = 2.0  # seconds kept free between the end of a send and the end of the lease
PAUSE_CHECK_SECONDS = 1.0  # how often a sender re-reads the pause switch mid-page
TOP_UP_RETRY_SECONDS = 2.0  # after a top-up found nothing to claim, wait this long to try again

# Claims more due deliveries under the page's token, skipping (customer endpoint pks, the
# batch URL / WEBHOOK_URL route): what the drain passes a page so it can top itself up.
TopUp = Callable[[tuple[int, ...], bool], list[ClaimedDelivery]]


@dataclass
class _Page:
    """The sender's view of a claimed page: what is left to send and what to record."""

    claim: Claim
    config: SendingConfig
    todo: list[ClaimedDelivery]
    stats: SendStats
    outcomes: list[Outcome] = field(default_factory=list)
    flushed_at: float = field(default_factory=time.monotonic)
    pause_checked_at: float = field(default_factory=time.monotonic)  # the claim checked it
    # Each endpoint is checked once per page: a dead domain costs one DNS lookup, not 200.
    endpoints: dict[str, EndpointRefused | None] = field(default_factory=dict)
    top_up_after: float = 0.0  # time.monotonic() before which no top-up is tried
    limits: PageLimits | None = None  # the customers' windows and caps

    def top_up(self, claim_more: TopUp | None, pacer: Pacer) -> bool:
        """With only limited endpoints' deliveries left, all waiting for their slots, claim
        more: the others' deliveries go out meanwhile instead of waiting for the page to end.
        Return whether it asked the database (the wait for a slot is then measured again)."""
        if claim_more is None or time.monotonic() < self.top_up_after:
            return False
        self._claim_into(claim_more, *pacer.held_enough(self.todo), pacer=pacer)
        return True

    def others_to_send(self, delivery: ClaimedDelivery, claim_more: TopUp | None, pacer) -> bool:
        """After a slow answer from ``delivery``'s endpoint: whether other endpoints'
        deliveries are waiting, in the page or claimed into it now (by the claim's own
        rules, at most every TOP_UP_RETRY_SECONDS). Only then is that endpoint held: with
        nobody else waiting it is sent to one request after another."""
        if any(d.endpoint != delivery.endpoint for d in self.todo):
            return True
        if claim_more is None or time.monotonic() < self.top_up_after:
            return False
        if delivery.endpoint_pk is not None:
            return self._claim_into(claim_more, (delivery.endpoint_pk,), False, pacer=pacer)
        # A batch's URL or WEBHOOK_URL: their route is skipped whole.
        return self._claim_into(claim_more, (), True, pacer=pacer)

    def _claim_into(self, claim_more: TopUp, skip: tuple[int, ...], skip_route: bool, *, pacer):
        """Claim more into the page, skipping these; return whether any came."""
        more = claim_more(skip, skip_route)
        if not more:
            self.top_up_after = time.monotonic() + TOP_UP_RETRY_SECONDS
            return False
        self.todo.extend(more)
        pacer.expect(more)
        self.stats.claimed += len(more)
        return True

    def flush(self) -> bool:
        """Record pending outcomes; return False when sending has been paused meanwhile."""
        if self.outcomes:
            outcomes = self.outcomes
            recorded = deliveries_record_outcomes(token=self.claim.token, outcomes=outcomes)
            self.stats.lost += len(outcomes) - recorded
            self.outcomes = []
            disabled = endpoints_health_note(outcomes=outcomes)
            if disabled:  # no further request goes to an endpoint once it is disabled
                self.release_some([d.pk for d in self.todo if d.endpoint_pk in disabled])
        self.flushed_at = now = time.monotonic()
        # The switch is read about once a second, not on every flush: a pause takes effect
        # within a second or so, at the cost of a query per second, not per few dozen sends.
        if now - self.pause_checked_at < PAUSE_CHECK_SECONDS:
            return True
        self.pause_checked_at = now
        if self.limits is not None:  # the customers' windows too: the next send checks them
            self.limits.refresh_windows(self.todo)
        return not sending_paused()

    def renew(self) -> None:
        held = claim_renew(claim=self.claim, pks=[d.pk for d in self.todo])
        lost = [d for d in self.todo if d.pk not in held]
        if lost:
            logger.warning("webhooks.lease_lost", extra={"delivery_ids": [d.pk for d in lost][:20]})
        self.todo = [d for d in self.todo if d.pk in held]

    def still_held(self, pk: int) -> bool:
        """Drop what this claim no longer holds; return whether delivery ``pk`` still is."""
        held = claim_held(claim=self.claim, pks=[d.pk for d in self.todo])
        if len(held) < len(self.todo):
            self.stats.lost += len(self.todo) - len(held)
            dropped = [d.pk for d in self.todo if d.pk not in held]
            claim_forget_cancelled(claim=self.claim, pks=dropped)
            self.todo = [d for d in self.todo if d.pk in held]
        return pk in held

    def drop_disabled_endpoints(self) -> None:
        """Give back, unsent, the deliveries to endpoints disabled since the claim."""
        disabled = endpoints_disabled({d.endpoint_pk for d in self.todo if d.endpoint_pk})
        if disabled:
            self.release_some([d.pk for d in self.todo if d.endpoint_pk in disabled])

    def release_some(self, pks: list[int], until: datetime | None = None) -> int:
        """Give back these deliveries unsent (their attempt undone), due now or ``until``,
        and drop them; return how many went back."""
        released = claim_release(claim=self.claim, pks=pks, until=until)
        gone = set(pks)
        self.todo = [d for d in self.todo if d.pk not in gone]
        return released

    def release(self, reason: str) -> None:
        self.stats.released += claim_release(claim=self.claim, pks=[d.pk for d in self.todo])
        self.todo = []
        self.stats.stopped = reason


def deliveries_send_page(
    *,
    claim: Claim,
    config: SendingConfig,
    deadline: float,
    top_up: TopUp | None = None,
    limits: PageLimits | None = None,
) -> SendStats:
    """Send a claimed page over keep-alive connections, recording in bulk.

    Each endpoint's deliveries go in claim order; a rate-limited endpoint's go at its rate
    (webhooks.services.pacing), the others' in between. Before each send the lease must
    cover the send (timeout + margin), else it is renewed for the rest of the page with one
    fenced UPDATE, and any delivery no longer held is skipped; right before its request
    each delivery's hold is read again, so one cancelled meanwhile (a batch or an
    operator's cancel) is not sent. Outcomes are written every FLUSH_EVERY sends (or
    FLUSH_SECONDS), so a sender killed mid-page re-sends at most those (receivers
    de-duplicate by webhook-id). Whatever is not sent when the deadline passes, sending is
    paused or the rate limit has no slot within the lease goes back, due now, its attempt
    undone. With ``top_up``, a page left
    with only limited endpoints' deliveries waiting for their slots claims more (see
    _Page.top_up), so a slow endpoint never holds up the others. With ``limits``, once a
    customer's delivery window closes its deliveries go back, due when it opens again.
    """
    page = _Page(
        claim=claim,
        config=config,
        todo=list(claim.deliveries),
        stats=SendStats(claimed=len(claim.deliveries)),
        limits=limits,
    )
    transport = process_transport()
    pacer = Pacer(limiter=process_limiter(), default_rate=config.rate_limit)
    pacer.expect(page.todo)
    watch = CancelWatch()
    # Lease a send must find left: its timeout plus a margin, so the lease outlasts the
    # request in flight (the transport bounds it by the wall clock). sending_config's
    # leases are at least twice that; only a shorter one (a caller's own) is halved.
    need = min(config.timeout + LEASE_MARGIN, claim.lease_seconds / 2)
    fresh_lease = False  # renewed for a rate-limit wait and nothing sent since
    try:
        while page.todo:
            if time.time() >= deadline:
                page.flush()
                page.release("deadline")
                break
            if claim.lease_left() < need:
                if not page.flush():
                    page.release("paused")
                    break
                page.renew()
                continue
            pick = pacer.pick(
                page.todo,
                budget=claim.lease_left() - need,
                known_outcome=lambda d: (
                    given_up_outcome(page, d) or endpoint_outcome(page, d, transport)
                ),
            )
            if pick.index is None:
                if pick.wait is None:  # no endpoint of the page has a slot within the lease
                    if fresh_lease:  # not even a whole lease is enough: give the page back
                        page.release("rate limit")
                        break
                    if not page.flush():
                        page.release("paused")
                        break
                    page.renew()
                    fresh_lease = True
                    continue
                if page.top_up(top_up, pacer):
                    continue
                time.sleep(min(pick.wait, max(0.0, deadline - time.time())))
                continue
            delivery = page.todo[pick.index]
            outcome = pick.outcome
            if outcome is None:
                reopens = None
                if limits is not None and limits.limits.windows:  # no clock read without
                    reopens = limits.reopens_at(delivery, claim.now())
                if reopens is not None:  # its customer's window closed since the claim
                    same = limits.same_customer(delivery)
                    waiting = [d.pk for d in page.todo if same(d)]
                    page.stats.released += page.release_some(waiting, until=reopens)
                    continue
                if watch.maybe_cancelled():
                    if watch.announced:  # a secret rotated or an endpoint disabled, maybe
                        claim.secrets.clear()
                        page.drop_disabled_endpoints()
                    if not page.still_held(delivery.pk):
                        continue  # cancelled (or taken over) since the claim: no request for it
                outcome = _send(claim, config, delivery, transport)
            fresh_lease = False
            page.todo.remove(delivery)
            page.outcomes.append(outcome)
            page.stats.count(outcome)
            if is_gone(outcome):
                _gone(page, delivery)
            elif is_endpoint_gone(outcome):
                _endpoint_gone(page, delivery)
            elif is_unresponsive(outcome, timeout=config.timeout) and (
                outcome.status not in ANSWERED or page.others_to_send(delivery, top_up, pacer)
            ):
                _hold(page, delivery, outcome)
            due = len(page.outcomes) >= FLUSH_EVERY
            if (due or time.monotonic() - page.flushed_at >= FLUSH_SECONDS) and not page.flush():
                page.release("paused")
                break
        page.flush()
    except BaseException:
        # Keep what was sent before the error (or a time limit); leases cover the rest.
        if page.outcomes:
            try:
                page.flush()
            except Exception:
                logger.exception("webhooks.record_failed", extra={"claim": str(claim.token)})
        raise
    return page.stats


def _send(
    claim: Claim, config: SendingConfig, delivery: ClaimedDelivery, transport: Transport
) -> Outcome:
    """Sign and post one delivery; whatever goes wrong is this delivery's failed attempt."""
    started_at = claim.now()
    started = time.monotonic()
    try:
        # Signed now, after any rate-limit wait: receivers reject timestamps 5 minutes off.
        body = delivery.body
        secrets = claim.signing_secrets(delivery.batch_pk, batch_signing_secrets)
        headers = signed_headers(secret=secrets, msg_id=delivery.msg_id, body=body)
        result = transport.post(delivery.endpoint, body=body, headers=headers)
    except EndpointUnresolvable as refused:  # resolved again after the DNS cache expired
        result = SendResult(ok=False, status_code=None, duration_ms=0, error=refused.reason)
    except EndpointRefused as refused:
        error = f"Endpoint refused: {refused.reason}"
        result = SendResult(ok=False, status_code=None, duration_ms=0, error=error)
        return outcome_of(delivery, started_at, result, status=DeliveryStatus.FAILED)
    except Exception as exc:
        # A bug or a receiver's answer nothing anticipated: one failed attempt, retried on
        # the schedule, and the page goes on. Raised, it left the delivery `sending` and
        # re-posted it every lease, and the rest of the page never went out.
        error = unexpected(exc, delivery, "webhooks.send_error")
        duration_ms = int((time.monotonic() - started) * 1000)
        result = SendResult(ok=False, status_code=None, duration_ms=duration_ms, error=error)
    return judge(config, delivery, started_at, result)


def _gone(page: _Page, delivery: ClaimedDelivery) -> None:
    """A batch's own URL answered 410 Gone: fail the batch's open deliveries there.

    Those still to be sent in this page go back unsent first (their attempt undone), so
    no further request goes to the URL and none of them uses an attempt.
    """
    same = [
        d.pk
        for d in page.todo
        if d.batch_pk == delivery.batch_pk and d.endpoint == delivery.endpoint
    ]
    page.release_some(same)
    page.stats.failed += batch_deliveries_gone(
        batch_pk=delivery.batch_pk, url=delivery.endpoint, keep_token=page.claim.token
    )


def _hold(page: _Page, delivery: ClaimedDelivery, outcome: Outcome) -> None:
    """An endpoint took half the timeout or more to answer or fail: its deliveries wait
    (webhooks.services.holds), the page's going back unsent, and the others go on. A fault
    here is logged and never stops the page: the deliveries are then sent as before."""
    config = page.config
    try:
        page.flush()  # first: the endpoint's failing time counts the page's answers so far
        until = hold_until(
            outcome,
            now=page.claim.now(),
            schedule=config.schedule,
            probe_seconds=config.timeout + LEASE_MARGIN,
        )
        dropped, released = route_hold(
            claim=page.claim, delivery=delivery, todo=page.todo, until=until,
            default_url=config.default_url,
        )  # fmt: skip
    except Exception:
        logger.exception("webhooks.hold_failed", extra={"endpoint": url_for_log(delivery.endpoint)})
        return
    gone = set(dropped)
    page.todo = [d for d in page.todo if d.pk not in gone]
    page.stats.released += released


def _endpoint_gone(page: _Page, delivery: ClaimedDelivery) -> None:
    """A customer's endpoint answered 410 Gone: no further request goes there. The page's
    other deliveries to it go back unsent; the endpoint is disabled."""
    page.release_some([d.pk for d in page.todo if d.endpoint_pk == delivery.endpoint_pk])
    endpoint_gone(endpoint_pk=delivery.endpoint_pk)
