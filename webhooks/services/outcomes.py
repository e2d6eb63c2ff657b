"""Record what sending did, in bulk: each delivery's new state and its attempt log rows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from valify.bulk import is_postgresql
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus

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
    status: str  # delivered, retrying or failed
    next_attempt_at: datetime | None = None  # when retrying
    delivered_at: datetime | None = None

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


def deliveries_record_outcomes(*, token: uuid.UUID, outcomes: Sequence[Outcome]) -> int:
    """Write outcomes and their attempt log at once; return how many deliveries changed.

    Only deliveries still held under ``token`` change (fencing): a sender whose lease
    lapsed and was taken over records its attempt in the log, but not the state.
    """
    if not outcomes:
        return 0
    if is_postgresql():
        return _record_postgresql(token, outcomes)
    with transaction.atomic():
        updated = _update_executemany(token, outcomes)
        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(**dict(zip(_ATTEMPT_COLUMNS, o.attempt_row(), strict=True)))
                for o in outcomes
            ],
            batch_size=500,
        )
    return updated


# One statement, so one round trip and atomic by itself: the outcomes arrive as one JSON
# array of rows (cheaper to build and send than a parameter per column), and the fenced
# UPDATE and the attempt log INSERT both read them, finding deliveries by primary key.
_RECORD_SQL = """
WITH v AS (
    SELECT (e->>0)::bigint AS id, e->>1 AS status, (e->>2)::timestamptz AS next_attempt_at,
           (e->>3)::integer AS status_code, e->>4 AS error,
           (e->>5)::timestamptz AS delivered_at, (e->>6)::integer AS number,
           e->>7 AS endpoint, (e->>8)::timestamptz AS started_at,
           (e->>9)::integer AS duration_ms, e->>10 AS excerpt
    FROM jsonb_array_elements(%s::jsonb) AS e
),
updated AS (
    UPDATE webhooks_delivery d
    SET status = v.status,
        next_attempt_at = COALESCE(v.next_attempt_at, d.next_attempt_at),
        last_status_code = v.status_code,
        last_error = left(v.error, 2000),
        delivered_at = COALESCE(v.delivered_at, d.delivered_at),
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = statement_timestamp()
    FROM v
    WHERE d.id = v.id AND d.lease_token = %s AND d.status = 'sending'
    RETURNING d.id
),
logged AS (
    INSERT INTO webhooks_deliveryattempt
        (delivery_id, number, endpoint, started_at, duration_ms, status_code,
         response_excerpt, error)
    SELECT id, number, endpoint, started_at, duration_ms, status_code, excerpt, error FROM v
)
SELECT count(*) FROM updated
"""


def _record_postgresql(token: uuid.UUID, outcomes: Sequence[Outcome]) -> int:
    rows = json.dumps([_record_row(o) for o in outcomes], ensure_ascii=False)
    with connection.cursor() as cursor:
        cursor.execute(_RECORD_SQL, [rows, token])
        return cursor.fetchone()[0]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _record_row(o: Outcome) -> list:
    return [
        o.delivery_pk,
        o.status,
        _iso(o.next_attempt_at),
        o.status_code,
        _text(o.error),
        _iso(o.delivered_at),
        o.attempt,
        o.endpoint[:500],
        _iso(o.started_at),
        o.duration_ms,
        _text(o.excerpt),
    ]


def _update_executemany(token: uuid.UUID, outcomes: Sequence[Outcome]) -> int:
    now = timezone.now()
    table = Delivery._meta.db_table
    sql = (
        f"UPDATE {table} SET status = %s, next_attempt_at = COALESCE(%s, next_attempt_at), "
        "last_status_code = %s, last_error = %s, delivered_at = COALESCE(%s, delivered_at), "
        "lease_token = NULL, lease_expires_at = NULL, updated_at = %s "
        "WHERE id = %s AND lease_token = %s AND status = %s"
    )
    ops = connection.ops
    token_value = token.hex  # how Django stores a UUIDField on SQLite
    params = [
        (
            o.status,
            ops.adapt_datetimefield_value(o.next_attempt_at),
            o.status_code,
            _text(o.error)[:2000],
            ops.adapt_datetimefield_value(o.delivered_at),
            ops.adapt_datetimefield_value(now),
            o.delivery_pk,
            token_value,
            DeliveryStatus.SENDING.value,
        )
        for o in outcomes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount
