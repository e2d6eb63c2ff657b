"""Retry schedule for webhook deliveries: parsing, jittered delays, Retry-After, the decision."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

DEFAULT_SCHEDULE_TEXT = "60,300,1800,7200,21600,64800"
DEFAULT_SCHEDULE: tuple[int, ...] = (60, 300, 1800, 7200, 21600, 64800)
MAX_JITTER = 0.25  # at most +25 % on a scheduled delay, so retries of one outage spread out
MAX_RETRY_AFTER = 24 * 60 * 60  # a receiver may slow us down, but not park a delivery for days
# However long the schedule, a delivery is failed for good at this attempt: the attempt
# counter (a smallint column, at most 32,767) then never comes near its limit.
MAX_ATTEMPTS = 100
MAX_RETRY_AFTER_DIGITS = 10  # delta-seconds longer than this are not a sane answer: ignored
MAX_RETRY_AFTER_LENGTH = 64  # an HTTP-date is 29 characters; longer is not one

_rng = random.Random()


MAX_SCHEDULE_DELAY = 7 * 24 * 3600  # seconds; the default schedule's longest is 18 hours


def parse_schedule(value: str) -> tuple[int, ...]:
    """Parse ``"60,300"`` into ``(60, 300)``: whole, non-negative seconds."""
    if value is None or not value.strip():
        raise ValueError(
            "WEBHOOK_RETRY_SCHEDULE is empty; give comma-separated seconds, "
            f"e.g. {DEFAULT_SCHEDULE_TEXT!r}"
        )
    delays = []
    for position, raw in enumerate(value.split(","), start=1):
        item = raw.strip()
        if not item.isascii() or not item.isdigit():
            raise ValueError(
                f"WEBHOOK_RETRY_SCHEDULE item {position} ({item!r}) is not a whole number "
                "of seconds >= 0"
            )
        delay = int(item) if len(item) <= 10 else MAX_SCHEDULE_DELAY + 1
        if delay > MAX_SCHEDULE_DELAY:
            # A retry further off than this would outlive any sensible schedule, and past
            # about 10**14 seconds it no longer fits a datetime at all.
            raise ValueError(
                f"WEBHOOK_RETRY_SCHEDULE item {position} ({item[:20]!r}) is over "
                f"{MAX_SCHEDULE_DELAY} seconds (7 days)"
            )
        delays.append(delay)
    return tuple(delays)


def next_delay(
    *,
    attempt: int,
    schedule: Sequence[int],
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before the next attempt, or None when no retry is left.

    ``attempt`` is the number of attempts made so far (1 after the first failure), so
    ``schedule[attempt - 1]`` is the delay before retry number ``attempt``. There is no
    retry after attempt ``MAX_ATTEMPTS``, whatever the schedule says.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1 (attempts made so far), got {attempt}")
    if attempt > len(schedule) or attempt >= MAX_ATTEMPTS:
        return None
    scheduled = float(schedule[attempt - 1])
    delay = scheduled * (1.0 + (rng or _rng).uniform(0.0, MAX_JITTER))
    if retry_after is not None and math.isfinite(retry_after) and retry_after > scheduled:
        # The receiver asked for longer: honour it (capped), never retry sooner than planned.
        delay = max(delay, min(float(retry_after), float(MAX_RETRY_AFTER)))
    return delay


def retry_decision(
    *,
    ok: bool,
    attempt: int,
    schedule: Sequence[int],
    retry_after: float | None,
    answered_at: datetime,
    rng: random.Random | None = None,
) -> tuple[Literal["delivered", "retrying", "failed"], datetime | None]:
    """Return the status an answered attempt leaves its delivery in, and its next attempt.

    2xx (``ok``) is delivered; anything else is retried ``next_delay`` after the answer,
    or failed once the schedule is used up. The next attempt is None unless retrying.
    """
    if ok:
        return "delivered", None
    delay = next_delay(attempt=attempt, schedule=schedule, retry_after=retry_after, rng=rng)
    if delay is None:
        return "failed", None
    return "retrying", answered_at + timedelta(seconds=delay)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header, capped at 24 h; None when absent or not sane.

    Honoured only as 1-10 ASCII digits (delta-seconds) or a valid HTTP-date: a receiver's
    header is untrusted input, and anything else (400 digits, a float, garbage) is ignored
    so the schedule applies. Never raises.
    """
    if not isinstance(value, str):
        return None
    value = value.strip(" \t")
    if not value or len(value) > MAX_RETRY_AFTER_LENGTH:
        return None
    if value.isascii() and value.isdigit():
        if len(value) > MAX_RETRY_AFTER_DIGITS:
            return None
        return float(min(int(value), MAX_RETRY_AFTER))
    when = parse_http_date(value)
    if when is None:
        return None
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), float(MAX_RETRY_AFTER))


_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH = "(?P<month>" + "|".join(_MONTHS) + ")"
_TIME = r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
# The three forms RFC 9110 (5.6.7) lets a recipient accept, and nothing looser: the
# preferred IMF-fixdate, and the obsolete RFC 850 and asctime forms.
_HTTP_DATES = (
    re.compile(rf"{_DAY}, (?P<day>\d{{2}}) {_MONTH} (?P<year>\d{{4}}) {_TIME} GMT", re.ASCII),
    re.compile(rf"{_LONG_DAY}, (?P<day>\d{{2}})-{_MONTH}-(?P<year>\d{{2}}) {_TIME} GMT", re.ASCII),
    re.compile(rf"{_DAY} {_MONTH} (?P<day>[ \d]\d) {_TIME} (?P<year>\d{{4}})", re.ASCII),
)


def parse_http_date(value: str) -> datetime | None:
    """An HTTP-date (UTC) in one of its three forms, or None when it is not a valid one."""
    for pattern in _HTTP_DATES:
        match = pattern.fullmatch(value)
        if match:
            break
    else:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:
        # RFC 9110: a two-digit year more than 50 years ahead is in the past century.
        this_year = datetime.now(UTC).year
        year += this_year // 100 * 100
        if year > this_year + 50:
            year -= 100
    try:
        return datetime(
            year,
            _MONTHS.index(match["month"]) + 1,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            tzinfo=UTC,
        )
    except ValueError:  # 31 Feb, 25:00 and the like
        return None
