"""The one timestamp format of payloads, JSON and CSV."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from valify.timefmt import utc_iso


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 7, 2, 10, 30, 15, 999_999, tzinfo=UTC), "2026-07-02T10:30:15Z"),
        (datetime(2026, 7, 2, 0, 30, tzinfo=timezone(timedelta(hours=1))), "2026-07-01T23:30:00Z"),
        # Four digits whatever the year: RFC 3339 readers refuse "999-12-31".
        (datetime(999, 12, 31, tzinfo=UTC), "0999-12-31T00:00:00Z"),
        (None, ""),
    ],
)
def test_timestamps_are_utc_to_the_second_with_four_digit_years(moment, text):
    assert utc_iso(moment) == text
