"""Retry schedule: parsing, jitter, Retry-After, the end of retries, the retry decision."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from webhooks.retry import (
    DEFAULT_SCHEDULE,
    DEFAULT_SCHEDULE_TEXT,
    MAX_ATTEMPTS,
    MAX_RETRY_AFTER,
    next_delay,
    parse_retry_after,
    parse_schedule,
    retry_decision,
)


def test_schedule_parses_comma_separated_seconds():
    assert parse_schedule("60,300") == (60, 300)
    assert parse_schedule(" 60 , 300,1800 ") == (60, 300, 1800)


def test_default_schedule_is_six_retries():
    assert parse_schedule(DEFAULT_SCHEDULE_TEXT) == DEFAULT_SCHEDULE
    assert DEFAULT_SCHEDULE == (60, 300, 1800, 7200, 21600, 64800)


@pytest.mark.parametrize(
    ("value", "named"),
    [("60,abc,300", "'abc'"), ("60,,300", "item 2 ('')"), ("60,-5", "'-5'"), ("1.5", "'1.5'")],
)
def test_bad_schedule_item_is_named_in_the_error(value, named):
    with pytest.raises(ValueError, match="WEBHOOK_RETRY_SCHEDULE") as excinfo:
        parse_schedule(value)
    assert named in str(excinfo.value)


def test_empty_schedule_is_refused():
    with pytest.raises(ValueError, match="empty"):
        parse_schedule("  ")


def test_jitter_adds_between_0_and_25_percent():
    rng = random.Random(1234)
    for attempt, scheduled in enumerate(DEFAULT_SCHEDULE, start=1):
        draws = [
            next_delay(attempt=attempt, schedule=DEFAULT_SCHEDULE, rng=rng) for _ in range(2000)
        ]
        assert all(scheduled <= d <= scheduled * 1.25 for d in draws)
        # The whole 0..25 % range is used, not a sliver of it.
        assert min(draws) < scheduled * 1.01
        assert max(draws) > scheduled * 1.24


def test_longer_retry_after_replaces_the_scheduled_delay():
    assert next_delay(attempt=1, schedule=(60, 300), retry_after=600) == 600


def test_shorter_retry_after_keeps_the_scheduled_delay():
    delay = next_delay(attempt=1, schedule=(60, 300), retry_after=5, rng=random.Random(1))

    assert 60 <= delay <= 75


def test_retry_after_is_capped_at_24_hours():
    delay = next_delay(attempt=1, schedule=(60,), retry_after=10 * 24 * 3600)

    assert delay == MAX_RETRY_AFTER == 24 * 3600


def test_no_delay_after_the_last_retry():
    schedule = (60, 300)

    assert next_delay(attempt=2, schedule=schedule) is not None  # second retry still due
    assert next_delay(attempt=3, schedule=schedule) is None
    assert next_delay(attempt=7, schedule=DEFAULT_SCHEDULE) is None


def test_attempt_zero_is_a_caller_error():
    with pytest.raises(ValueError, match="attempt"):
        next_delay(attempt=0, schedule=DEFAULT_SCHEDULE)


ANSWERED = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _decide(*, ok, attempt, schedule=(60, 300), retry_after=None):
    return retry_decision(
        ok=ok,
        attempt=attempt,
        schedule=schedule,
        retry_after=retry_after,
        answered_at=ANSWERED,
        rng=random.Random(7),
    )


def test_2xx_is_delivered_with_no_next_attempt():
    assert _decide(ok=True, attempt=1) == ("delivered", None)
    assert _decide(ok=True, attempt=9) == ("delivered", None)  # even past the schedule


def test_failure_is_retried_a_jittered_delay_after_the_answer():
    status, next_attempt_at = _decide(ok=False, attempt=2)

    assert status == "retrying"
    assert ANSWERED + timedelta(seconds=300) <= next_attempt_at
    assert next_attempt_at <= ANSWERED + timedelta(seconds=375)


def test_longer_retry_after_sets_the_next_attempt():
    status, next_attempt_at = _decide(ok=False, attempt=1, retry_after=600)

    assert (status, next_attempt_at) == ("retrying", ANSWERED + timedelta(seconds=600))


def test_failure_after_the_last_retry_is_failed():
    assert _decide(ok=False, attempt=3) == ("failed", None)
    assert _decide(ok=False, attempt=1, schedule=()) == ("failed", None)


def test_retry_after_seconds_are_parsed():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0


def test_retry_after_http_date_is_parsed_relative_to_now():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(minutes=5), usegmt=True)

    assert parse_retry_after(header, now=now) == 300.0


def test_retry_after_date_in_the_past_means_now():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now - timedelta(minutes=5), usegmt=True)

    assert parse_retry_after(header, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "12abc"])
def test_missing_or_unparseable_retry_after_is_none(value):
    assert parse_retry_after(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "1" + "0" * 400,  # OverflowError from float() once
        "9" * 5000,  # ValueError from int() once (past Python's digit limit)
        "12345678901",  # 11 digits: not a sane delay
        "1.5",
        "+60",
        "٣٠",  # Arabic-Indic digits: isdigit(), but not ASCII
        "Wed, 21 Oct 99999 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00 GMT" + " " * 100 + "x",
        "\x00",
    ],
)
def test_insane_retry_after_is_ignored_without_raising(value):
    assert parse_retry_after(value) is None


def test_retry_after_of_ten_digits_is_capped_at_24_hours():
    assert parse_retry_after("9999999999") == 24 * 60 * 60
    assert parse_retry_after("1") == 1.0


def test_retry_after_http_date_far_ahead_is_capped_at_24_hours():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(days=400), usegmt=True)

    assert parse_retry_after(header, now=now) == 24 * 60 * 60


def test_no_retry_after_max_attempts_whatever_the_schedule():
    schedule = (1,) * 500

    assert next_delay(attempt=MAX_ATTEMPTS - 1, schedule=schedule) is not None
    assert next_delay(attempt=MAX_ATTEMPTS, schedule=schedule) is None


@pytest.mark.parametrize("item", ["604801", "99999999999999", "9" * 400])
def test_a_schedule_item_over_seven_days_is_refused(item):
    with pytest.raises(ValueError, match="over 604800 seconds"):
        parse_schedule(f"60,{item}")


def test_a_schedule_item_of_seven_days_is_kept():
    assert parse_schedule("60,604800") == (60, 604800)


_NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "header",
    [
        "Thu, 01 Jan 2026 12:05:00 GMT",  # IMF-fixdate, the preferred form
        "Thursday, 01-Jan-26 12:05:00 GMT",  # RFC 850
        "Thu Jan  1 12:05:00 2026",  # asctime
    ],
)
def test_retry_after_in_each_http_date_form_is_honoured(header):
    assert parse_retry_after(header, now=_NOW) == 300.0


@pytest.mark.parametrize("digits", ["7", "0000000120", "86400"])
def test_retry_after_of_one_to_ten_digits_is_seconds(digits):
    assert parse_retry_after(digits) == float(min(int(digits), 24 * 60 * 60))


@pytest.mark.parametrize(
    "header",
    [
        "Thu, 01 Jan 2026 12:05:00 +0100",  # not GMT
        "01 Jan 2026 12:05:00 GMT",  # no weekday
        "Thu, 1 Jan 2026 12:05:00 GMT",  # one-digit day in the fixed form
        "Thu, 01 Jan 26 12:05:00 GMT",  # two-digit year in the fixed form
        "Thu, 01 Jan 2026 12:05 GMT",  # no seconds
        "Thu, 31 Feb 2026 12:05:00 GMT",  # no such day
        "Thu, 01 Jan 2026 25:05:00 GMT",  # no such hour
        "thu, 01 jan 2026 12:05:00 gmt",  # names are case-sensitive
        "2026-01-01T12:05:00Z",  # ISO 8601 is not an HTTP-date
        "Thu, 01 Jan 2026 12:05:00 GMT\x00",
        "10 s",
        "",
    ],
)
def test_retry_after_that_is_not_a_valid_http_date_is_ignored(header):
    assert parse_retry_after(header, now=_NOW) is None
