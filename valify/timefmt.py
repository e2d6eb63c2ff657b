"""The one timestamp format of payloads, JSON and CSV: UTC `YYYY-MM-DDTHH:MM:SSZ`."""

from datetime import UTC, datetime


def utc_iso(value: datetime | None) -> str:
    """Format an aware datetime in UTC to the second; empty for None."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
