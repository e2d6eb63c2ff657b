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


def parse_consent_at(value: object, time_zone: str) -> datetime.datetime | None:
    """The moment consent was given, in UTC; None when blank or unreadable.

    ISO 8601 text is UTC unless it carries an offset; ``dd/mm/yyyy[ HH:MM[:SS]]`` and a
    spreadsheet's own date cells are local times in `time_zone`.
    """
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(time_zone))
        return value.astimezone(UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time(), ZoneInfo(time_zone)).astimezone(
            UTC
        )
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
        return local.replace(tzinfo=ZoneInfo(time_zone)).astimezone(UTC)
    if not _ISO_START_RE.match(text):
        return None  # fromisoformat also reads compact forms no supplier means ("20260102")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
