"""The one timestamp format of payloads, JSON and CSV: UTC `YYYY-MM-DDTHH:MM:SSZ`; and the
console's, in `TIME_ZONE` as the admin shows its own date and time fields."""

from datetime import UTC, datetime

from django.utils import formats, timezone


def utc_iso(value: datetime | None) -> str:
    """Format an aware datetime in UTC to the second; empty for None."""
    if value is None:
        return ""
    # Not strftime: its %Y does not pad years before 1000 to four digits.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def console_time(value: datetime) -> str:
    """An aware datetime as the admin shows its own fields: in `TIME_ZONE`, localised."""
    return formats.localize(timezone.template_localtime(value))


def local_midnight(value: datetime) -> datetime:
    """The start of ``value``'s day in `TIME_ZONE` (where daily caps and report days start)."""
    return timezone.localtime(value).replace(hour=0, minute=0, second=0, microsecond=0)
