"""Consent: when the person agreed, read from the file and carried as UTC."""

from __future__ import annotations

import datetime
import functools
import re
from zoneinfo import ZoneInfo

UTC = datetime.UTC
# dd/mm/yyyy, optionally with HH:MM or HH:MM:SS: a local time in TIME_ZONE.
_DMY_TIME_RE = re.compile(
    r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"
)
_ISO_START_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Earlier "dates" are systems' placeholders for none (0001-01-01, Excel's day zero 1900-01-01,
# the Unix epoch 1970-01-01), not a moment anyone agreed to be contacted: unreadable as consent.
EARLIEST_CONSENT = datetime.datetime(1990, 1, 1, tzinfo=UTC)


def parse_consent_at(value: object, time_zone: str) -> datetime.datetime | None:
    """The moment consent was given, in UTC; None when blank or unreadable.

    ISO 8601 text is UTC unless it carries an offset; ``dd/mm/yyyy[ HH:MM[:SS]]`` and a
    spreadsheet's own date cells are local times in `time_zone`. A moment before
    EARLIEST_CONSENT, or one whose UTC reading falls outside the years 1-9999, is unreadable.
    """
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(time_zone))
        return _in_utc(value)
    if isinstance(value, datetime.date):
        return _in_utc(datetime.datetime.combine(value, datetime.time(), ZoneInfo(time_zone)))
    if not isinstance(value, str):
        return None
    return _parse_text(value.strip(), time_zone)


@functools.lru_cache(maxsize=8192)
def _parse_text(text: str, time_zone: str) -> datetime.datetime | None:
    if not text:
        return None
    match = _DMY_TIME_RE.fullmatch(text)
    if match is not None:
        day, month, year, hour, minute, second = (int(part or 0) for part in match.groups())
        try:
            local = datetime.datetime(year, month, day, hour, minute, second)
        except ValueError:
            return None
        return _in_utc(local.replace(tzinfo=ZoneInfo(time_zone)))
    if not _ISO_START_RE.match(text):
        return None  # fromisoformat also reads compact forms no supplier means ("20260102")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _in_utc(moment)


def _in_utc(moment: datetime.datetime) -> datetime.datetime | None:
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:30+01:00 is in year 0 in UTC
        return None
    return moment if moment >= EARLIEST_CONSENT else None
