"""Record what sending did, in bulk: each delivery's new state and its attempt log rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from valify.bulk import insert_rows, update_from_rows
from webhooks.models import Delivery, DeliveryAttempt
from webhooks.services.alerting import deliveries_failed_alerts
from webhooks.services.erasure import erased_answers_blank

_ATTEMPT_COLUMNS = (
    "delivery_id",
    "number",
    "endpoint",
    "started_at",
    "duration_ms",
    "status_code",
    "response_excerpt",
    "error",
)


@dataclass(frozen=True)
class Outcome:
    """One attempt and the state it leaves its delivery in."""

    delivery_pk: int
    attempt: int
    endpoint: str
    started_at: datetime
    duration_ms: int
    status_code: int | None
    excerpt: str
    error: str
    status: str  # delivered, retrying, failed or rejected
    next_attempt_at: datetime | None = None  # when retrying
    delivered_at: datetime | None = None
    rejected_reason: str = ""  # when rejected: the receiver's reason
    endpoint_pk: int | None = None  # the customer's endpoint, whose health it tells

    def attempt_row(self) -> tuple:
        return (
            self.delivery_pk,
            self.attempt,
            self.endpoint[:500],
            self.started_at,
            self.duration_ms,
            self.status_code,
            _text(self.excerpt),
            _text(self.error),
        )


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and a receiver's body may contain one.
    return value.replace("\x00", "\ufffd")


# What an outcome writes on its delivery, from the values table `v` (see valify.bulk).
_STATE_COLUMNS = (
    ("status", "text"),
    ("next_attempt_at", "timestamptz"),
    ("last_status_code", "integer"),
    ("last_error", "text"),
    ("delivered_at", "timestamptz"),
    ("rejected_reason", "text"),
)
# Still this sender's: `sending` under its token, or cancelled (token kept) while claimed.
_HELD = "t.lease_token = %s AND t.status IN ('sending', 'cancelled')"
# A delivery cancelled while its request was on the wire stays cancelled, unless the
# receiver took it: then it was delivered, and says so.
_TAKES_STATE = "(t.status = 'sending' OR v.status = 'delivered')"
_STATE_SETS = {
    "status": f"status = CASE WHEN {_TAKES_STATE} THEN v.status ELSE t.status END",
    "next_attempt_at": (
        f"next_attempt_at = CASE WHEN {_TAKES_STATE} "
        "THEN COALESCE(v.next_attempt_at, t.next_attempt_at) ELSE t.next_attempt_at END"
    ),
    "last_error": f"last_error = CASE WHEN {_TAKES_STATE} THEN v.last_error ELSE t.last_error END",
    "delivered_at": "delivered_at = COALESCE(v.delivered_at, t.delivered_at)",
    "rejected_reason": (
        f"rejected_reason = CASE WHEN {_TAKES_STATE} THEN v.rejected_reason "
        "ELSE t.rejected_reason END"
    ),
}


def deliveries_record_outcomes(*, token: uuid.UUID, outcomes: Sequence[Outcome]) -> int:
    """Write outcomes and their attempt log at once; return how many deliveries changed.

    Only deliveries still held under ``token`` change (fencing): a sender whose lease
    lapsed and was taken over records its attempt in the log, but not the state.
    """
    if not outcomes:
        return 0
    token_value = Delivery._meta.get_field("lease_token").get_db_prep_value(token, connection)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic():
        changed = update_from_rows(
            Delivery._meta.db_table,
            key="id",
            columns=_STATE_COLUMNS,
            rows=[_state_row(o) for o in outcomes],
            sets=_STATE_SETS,
            extra_set="lease_token = NULL, lease_expires_at = NULL, updated_at = %s",
            extra_params=[now],
            where=_HELD,
            where_params=[token_value],
            returning=("erased_at",),
        )
        insert_rows(DeliveryAttempt, _ATTEMPT_COLUMNS, (o.attempt_row() for o in outcomes))
        # An erasure waits for this transaction where it changed the delivery; where it ran
        # first, its blanking cannot have seen these answers. The update said which of its
        # rows are erased; only those it did not change (no longer held) are read again.
        held = {pk for pk, _ in changed}
        maybe_erased = [pk for pk, erased_at in changed if erased_at is not None]
        maybe_erased += [o.delivery_pk for o in outcomes if o.delivery_pk not in held]
        if maybe_erased:
            erased_answers_blank(delivery_pks=maybe_erased)
        failed = [o.delivery_pk for o in outcomes if o.status == "failed" and o.delivery_pk in held]
        deliveries_failed_alerts(pks=failed)
    return len(changed)


def _state_row(o: Outcome) -> tuple:
    return (
        o.delivery_pk,
        o.status,
        o.next_attempt_at,
        o.status_code,
        _text(o.error)[:2000],
        o.delivered_at,
        _text(o.rejected_reason)[:2000],
    )
