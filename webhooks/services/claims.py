"""Claim due deliveries under a lease, renew the lease, and give back what was not sent."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    Case,
    F,
    OuterRef,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Least, NullIf
from django.utils import timezone

from batches.models import BatchJob
from customers.models import DEFAULT_SLUG, Endpoint
from customers.services import environment_apply
from valify.bulk import database_now, database_time, is_postgresql
from webhooks.models import OPEN_STATUSES, Delivery, DeliveryStatus, WebhookControl
from webhooks.services.claim_sql import (
    ATTEMPTS_COLUMN_MAX,
    CLAIM_SQL,
    HAS_OWN_ENDPOINT_SQL,
    HAS_ROUTE_SQL,
    NOT_HELD_SQL,
    SIGNABLE_SQL,
    SKIP_DEFAULT_ROUTE_SQL,
    SKIP_ENDPOINTS_SQL,
)

# How long a claim signs with the secrets it read: about a page's flush, one query per batch.
SECRETS_FRESH_SECONDS = 1.0


@dataclass(frozen=True)
class ClaimedDelivery:
    pk: int
    msg_id: str
    body: bytes  # the payload as stored: the exact bytes signed and sent
    endpoint: str
    attempt: int  # the number of this attempt (attempts after the claim)
    batch_pk: int
    endpoint_pk: int | None = None  # the customer's endpoint; None: batch URL or WEBHOOK_URL


@dataclass
class Claim:
    """Deliveries held under one lease token, with a clock anchored on the database's.

    The lease is counted from before the claim was sent, so the sender never thinks it
    holds a lease longer than the database does.
    """

    token: uuid.UUID
    deliveries: list[ClaimedDelivery]
    lease_seconds: float
    db_now: datetime
    anchored_at: float = field(default_factory=time.monotonic)
    expires_at: float = 0.0  # time.monotonic() when the lease runs out
    # Each batch's customer's secrets and when they were read (time.monotonic()).
    secrets: dict[int, tuple[float, list[str]]] = field(default_factory=dict)

    def signing_secrets(self, batch_pk: int, read: Callable[..., list[str]]) -> list[str]:
        """The secrets to sign with, read again once SECRETS_FRESH_SECONDS old: a claim
        topped up lives until its sweep's deadline, and a rotation (or a second one, which
        drops the oldest secret) must reach the requests it sends meanwhile."""
        now = time.monotonic()
        read_at, secrets = self.secrets.get(batch_pk, (-math.inf, []))
        if now - read_at >= SECRETS_FRESH_SECONDS:
            secrets = read(batch_pk=batch_pk)
            self.secrets[batch_pk] = (now, secrets)
        return secrets

    def now(self) -> datetime:
        """The database's time now, without asking it; never ahead of it."""
        return self.db_now + timedelta(seconds=time.monotonic() - self.anchored_at)

    def lease_left(self) -> float:
        return self.expires_at - time.monotonic()

    def anchor(self, *, db_now: datetime, sent_at: float) -> None:
        """``db_now`` was read somewhere between ``sent_at`` and the answer: the clock takes
        it as the answer's time, so it is never ahead (a retry due at an answer's time is
        due to the next claim), while the lease counts from ``sent_at``, never too long."""
        self.db_now = db_now
        self.anchored_at = time.monotonic()
        self.expires_at = sent_at + self.lease_seconds


@dataclass(frozen=True)
class ClaimScope:
    """Which due deliveries a claim may take (see deliveries_claim_due)."""

    default_url: str
    signable_only: bool = False
    held_customers: tuple[int, ...] = ()
    # A sender topping up a page skips the endpoints it already holds enough of.
    skip_endpoints: tuple[int, ...] = ()
    skip_default_route: bool = False  # and those to a batch's URL or WEBHOOK_URL


def deliveries_claim_due(
    *,
    limit: int,
    lease_seconds: float,
    default_url: str,
    signable_only: bool = False,
    held_customers: Sequence[int] = (),
    environment_applied: bool = False,
) -> Claim:
    """Claim up to ``limit`` due deliveries for sending, oldest due first.

    The claim is the only write before the HTTP call: status `sending`, one more attempt,
    a fresh lease token, and `next_attempt_at` = lease expiry, so a sender that dies leaves
    the delivery due again when its lease runs out. Expired `sending` leases are due like
    any other. Deliveries with no endpoint (no batch URL, no customer endpoint, and for the
    default customer no WEBHOOK_URL), those to a disabled endpoint, and everything
    while sending is paused are left alone, using no attempt. With ``signable_only`` (the
    sweep's way) so are those of a customer with no secret or an inactive one, and those of
    ``held_customers`` (outside their delivery window, or at their daily cap). A drain
    applies the environment once (``environment_applied``), not before each page.
    """
    scope = ClaimScope(
        default_url=default_url,
        signable_only=signable_only,
        held_customers=tuple(held_customers),
    )
    token = uuid.uuid4()
    sent_at = time.monotonic()
    if not environment_applied:
        environment_apply()
    rows, db_now = _claim(token=token, limit=limit, lease_seconds=lease_seconds, scope=scope)
    claim = Claim(token=token, deliveries=rows, lease_seconds=lease_seconds, db_now=db_now)
    claim.anchor(db_now=db_now, sent_at=sent_at)
    return claim


def claim_more(*, claim: Claim, limit: int, scope: ClaimScope) -> list[ClaimedDelivery]:
    """Claim up to ``limit`` more due deliveries under ``claim``'s token, so a page that only
    waits for its limited endpoints' slots can send to the others meanwhile.

    Their leases run from now, past the claim's: the sender keeps counting from the claim's.
    The claim's drain applied the environment already.
    """
    rows, _ = _claim(token=claim.token, limit=limit, lease_seconds=claim.lease_seconds, scope=scope)
    return rows


def _claim(
    *, token: uuid.UUID, limit: int, lease_seconds: float, scope: ClaimScope
) -> tuple[list[ClaimedDelivery], datetime]:
    claim = _claim_postgresql if is_postgresql() else _claim_sqlite
    return claim(token=token, limit=limit, lease_seconds=lease_seconds, scope=scope)


def _claim_postgresql(
    *, token: uuid.UUID, limit: int, lease_seconds: float, scope: ClaimScope
) -> tuple[list[ClaimedDelivery], datetime]:
    sql = CLAIM_SQL.format(
        endpoint_filter=HAS_ROUTE_SQL if scope.default_url else HAS_OWN_ENDPOINT_SQL,
        customer_filter=(SIGNABLE_SQL if scope.signable_only else "")
        + (NOT_HELD_SQL if scope.held_customers else ""),
        skip_filter=(SKIP_ENDPOINTS_SQL if scope.skip_endpoints else "")
        + (SKIP_DEFAULT_ROUTE_SQL if scope.skip_default_route else ""),
    )
    params = {
        "limit": limit,
        "token": token,
        "lease": lease_seconds,
        "default_url": scope.default_url,
        "held": list(scope.held_customers),
        "skip": list(scope.skip_endpoints),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
        if not fetched:
            cursor.execute("SELECT statement_timestamp()")
            return [], cursor.fetchone()[0]
    rows = [
        ClaimedDelivery(
            pk=pk,
            msg_id=msg_id,
            body=payload.encode(),
            endpoint=endpoint,
            attempt=attempts,
            batch_pk=batch_pk,
            endpoint_pk=endpoint_pk,
        )
        for pk, msg_id, payload, endpoint, attempts, batch_pk, endpoint_pk, _ in fetched
    ]
    rows.sort(key=lambda row: row.pk)  # RETURNING order is arbitrary; keep sends stable
    return rows, fetched[0][-1]


def _claim_sqlite(
    *, token: uuid.UUID, limit: int, lease_seconds: float, scope: ClaimScope
) -> tuple[list[ClaimedDelivery], datetime]:
    # SQLite has no SKIP LOCKED; it serialises writers, and IMMEDIATE transactions take
    # the write lock at BEGIN, so the select and the conditional update cannot interleave
    # with another sweep's. The update re-checks "still due" all the same.
    now = timezone.now()
    expires = now + timedelta(seconds=lease_seconds)
    with transaction.atomic():
        if WebhookControl.objects.filter(paused=True).exists():
            return [], now
        due = Delivery.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
        if scope.signable_only:  # a customer with no secret, or inactive, holds its deliveries
            due = due.filter(batch__customer__is_active=True).exclude(batch__customer__secret="")
        if scope.held_customers:
            due = due.exclude(batch__customer_id__in=scope.held_customers)
        if scope.skip_endpoints:
            due = due.exclude(customer_endpoint_id__in=scope.skip_endpoints)
        if scope.skip_default_route:
            due = due.exclude(customer_endpoint__isnull=True)
        # A disabled endpoint's deliveries wait, using no attempt.
        due = due.exclude(customer_endpoint__is_enabled=False)
        unrouted = Q(batch__webhook_url="", customer_endpoint__isnull=True)
        if scope.default_url:  # WEBHOOK_URL is the default customer's route only
            unrouted &= ~Q(batch__customer__slug=DEFAULT_SLUG)
        due = due.exclude(unrouted)
        ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
        if not ids:
            return [], now
        batch_url = BatchJob.objects.filter(pk=OuterRef("batch_id")).values("webhook_url")[:1]
        Delivery.objects.filter(
            pk__in=ids, status__in=OPEN_STATUSES, next_attempt_at__lte=now
        ).update(
            status=DeliveryStatus.SENDING,
            attempts=Least(F("attempts") + 1, Value(ATTEMPTS_COLUMN_MAX)),
            lease_token=token,
            lease_expires_at=expires,
            next_attempt_at=expires,
            endpoint=Coalesce(
                NullIf(Subquery(batch_url), Value("")),
                Subquery(
                    Endpoint.objects.filter(pk=OuterRef("customer_endpoint_id")).values("url")[:1]
                ),
                Value(scope.default_url),
            ),
            updated_at=now,
        )
        claimed = Delivery.objects.filter(pk__in=ids, lease_token=token).order_by("pk")
        rows = [
            ClaimedDelivery(
                pk=d["pk"],
                msg_id=d["msg_id"],
                body=d["body"].encode(),
                endpoint=d["endpoint"],
                attempt=d["attempts"],
                batch_pk=d["batch_id"],
                endpoint_pk=d["customer_endpoint_id"],
            )
            # The stored text as it is: it is the body.
            for d in claimed.annotate(body=Cast("payload", TextField())).values(
                "pk",
                "msg_id",
                "body",
                "endpoint",
                "attempts",
                "batch_id",
                "customer_endpoint_id",
            )
        ]
    return rows, now


def claim_renew(*, claim: Claim, pks: Sequence[int]) -> set[int]:
    """Extend the lease on ``pks`` (one UPDATE fenced by the token); return those still held."""
    if not pks:
        return set()
    sent_at = time.monotonic()
    held = Delivery.objects.filter(
        pk__in=pks, lease_token=claim.token, status=DeliveryStatus.SENDING
    )
    until = database_time(claim.lease_seconds)
    with transaction.atomic():
        held.update(lease_expires_at=until, next_attempt_at=until, updated_at=database_time())
        kept = set(held.values_list("pk", flat=True))
        db_now = database_now()
    claim.anchor(db_now=db_now, sent_at=sent_at)
    return kept


def claim_holds(*, claim: Claim, pk: int) -> bool:
    """Whether this claim still holds the delivery (not cancelled, not taken over)."""
    return pk in claim_held(claim=claim, pks=[pk])


def claim_held(*, claim: Claim, pks: Sequence[int]) -> set[int]:
    """The deliveries of `pks` this claim still holds, in one query."""
    if not pks:
        return set()
    return set(
        Delivery.objects.filter(
            pk__in=pks, lease_token=claim.token, status=DeliveryStatus.SENDING
        ).values_list("pk", flat=True)
    )


def claim_forget_cancelled(*, claim: Claim, pks: Sequence[int]) -> int:
    """Of ``pks``, those cancelled while this claim held them, never sent: their attempt
    undone and the claim's token given up (nothing of theirs is on the wire)."""
    if not pks:
        return 0
    return Delivery.objects.filter(
        pk__in=pks, lease_token=claim.token, status=DeliveryStatus.CANCELLED
    ).update(attempts=F("attempts") - 1, lease_token=None, updated_at=database_time())


def claim_release(*, claim: Claim, pks: Sequence[int], until: datetime | None = None) -> int:
    """Give back claimed deliveries that were not attempted: due now (or ``until``), the
    attempt undone."""
    if not pks:
        return 0
    return Delivery.objects.filter(
        pk__in=pks, lease_token=claim.token, status=DeliveryStatus.SENDING
    ).update(
        status=Case(
            When(attempts__lte=1, then=Value(DeliveryStatus.SCHEDULED)),
            default=Value(DeliveryStatus.RETRYING),
        ),
        attempts=F("attempts") - 1,
        lease_token=None,
        lease_expires_at=None,
        next_attempt_at=until or database_time(),
        updated_at=database_time(),
    )
