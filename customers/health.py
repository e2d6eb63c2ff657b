"""The endpoint health rule, pure: when sustained failure disables an endpoint, and what its
record of successes and failures becomes after more attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from valify.timefmt import utc_iso

# ENDPOINT_DISABLE_AFTER_HOURS' default: below the default retry span (about 26 hours), so an
# endpoint down for good is disabled before its deliveries run out of retries.
DEFAULT_DISABLE_AFTER_HOURS = 24.0
# A success moves the record on only this often: otherwise every flush of outcomes would
# write (and commit) the endpoint row. A failure seen within it after a success already
# on record is taken for the first one, until the next success clears it.
SUCCESS_GRANULARITY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """An endpoint's last success and the first failure after it (None: not failing)."""

    last_success_at: datetime | None
    failing_since: datetime | None


def health_after(
    record: HealthRecord, *, succeeded_at: datetime | None, failed_at: datetime | None
) -> HealthRecord:
    """The record after attempts whose latest success is ``succeeded_at`` and whose first
    failure after that success (or first failure at all, with none) is ``failed_at``.

    Senders record their attempts out of order, a few seconds apart: a success older than the
    one already known leaves the record be, and a failure older than the last success is no
    longer news.
    """
    last_success = record.last_success_at
    if succeeded_at is not None and (last_success is None or succeeded_at > last_success):
        last_success = succeeded_at
    failing = record.failing_since
    if failing is not None and last_success is not None and failing <= last_success:
        failing = None
    if failed_at is not None and (last_success is None or failed_at > last_success):
        failing = failed_at if failing is None else min(failing, failed_at)
    return HealthRecord(last_success_at=last_success, failing_since=failing)


def health_worth_writing(before: HealthRecord, after: HealthRecord) -> bool:
    """Whether ``after`` tells more than ``before``: a change in failing, or a success at
    least SUCCESS_GRANULARITY newer."""
    if after.failing_since != before.failing_since:
        return True
    if after.last_success_at is None or after.last_success_at == before.last_success_at:
        return False
    return (
        before.last_success_at is None
        or after.last_success_at - before.last_success_at >= SUCCESS_GRANULARITY
    )


def failing_too_long(failing_since: datetime | None, *, now: datetime, hours: float) -> bool:
    """Whether every attempt has failed for ``hours`` by ``now``."""
    return failing_since is not None and now - failing_since >= timedelta(hours=hours)


def failing_reason(failing_since: datetime, *, hours: float) -> str:
    """Why the rule disabled an endpoint, for the admin and the alert."""
    return f"Every attempt failed for {hours:g} hours (since {utc_iso(failing_since)})"
