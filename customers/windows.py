"""Delivery windows such as ``Mon-Fri 09:00-20:00``: when a customer takes deliveries.

Times are local to TIME_ZONE; the days part is optional (every day), a single day works
(``Sat 10:00-14:00``), and ranges wrap around the week (``Fri-Mon``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(
    r"^\s*(?:(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+)?"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # weekday numbers, Monday = 0
    start: time
    end: time

    def is_open(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_open(self, local: datetime) -> datetime:
        """``local`` when the window is open then, else when it next opens (same zone)."""
        if self.is_open(local):
            return local
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            opens = datetime.combine(day, self.start, tzinfo=local.tzinfo)
            if day.weekday() in self.days and opens > local:
                return opens
        raise AssertionError("a window opens at least once a week")  # parse_window's days


def _time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    return time(hours, minutes)  # ValueError when out of range


def parse_window(text: str) -> Window:
    """Read a window; ValueError saying what is wrong."""
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a window like 'Mon-Fri 09:00-20:00'")
    first, last = (match["first"] or "mon").lower(), (match["last"] or "").lower()
    if not match["first"]:
        last = "sun"
    if first not in DAYS or (last and last not in DAYS):
        raise ValueError(f"{text!r}: days are written Mon, Tue, Wed, Thu, Fri, Sat, Sun")
    start_day = DAYS.index(first)
    end_day = DAYS.index(last) if last else start_day
    days = frozenset((start_day + i) % 7 for i in range((end_day - start_day) % 7 + 1))
    try:
        start, end = _time(match["start"]), _time(match["end"])
    except ValueError:
        raise ValueError(f"{text!r}: times are HH:MM, 00:00 to 24:00") from None
    if start >= end:
        raise ValueError(f"{text!r}: the window must end after it starts, on the same day")
    return Window(days=days, start=start, end=end)


def validate_window(text: str) -> None:
    """Model field validator: an empty window means any time."""
    if text:
        try:
            parse_window(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
