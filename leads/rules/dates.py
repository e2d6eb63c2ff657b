"""Dates of birth: parsed from the accepted formats, shown as dd/mm/yyyy, counted in years."""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata

from leads.rules.cells import INVISIBLE

# A time of exactly midnight after the date: what a date-time column saved as CSV carries
# ("15/03/1990 00:00", "1990-03-15T00:00:00Z", "15/03/1990 12:00:00 AM"), in UTC when it says
# so. Any other time or offset is not a date of birth's, and is never rounded.
_MIDNIGHT = (
    r"(?:[ T]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?"
    r"| 12:00(?::00)? ?[Aa]\.?[Mm]\.?)?"
)
# d/m/yyyy with one separator used consistently: /, - or .
_DMY_RE = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})" + _MIDNIGHT)
_ISO_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})" + _MIDNIGHT)


def parse_dob(value: object) -> datetime.date | None:
    """Parse a date of birth; None when blank (missing) or unparseable.

    Accepts ``dd/mm/yyyy`` and ``d/m/yyyy`` with ``/``, ``-`` or ``.`` as separator, ISO
    ``yyyy-mm-dd``, either followed by a midnight time (``00:00``, ``T00:00:00Z``,
    ``12:00:00 AM``), and
    ``date``/``datetime`` values. Two-digit years and impossible dates are
    never guessed.
    """
    if type(value) is str:
        return _parse_dob_text(value)
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str):
        return None
    return _parse_dob_text(value)


# Dates of birth repeat across a batch (at most some 40,000 distinct ones in a century), and
# both the split and the chunks parse each row's: cached, a repeat costs a dict look-up.
@functools.lru_cache(maxsize=32768)
def _parse_dob_text(value: str) -> datetime.date | None:
    text = value.strip()
    if not text.isascii():
        # Full-width digits and slashes (１５／０３／１９９０) are the same date; invisible
        # characters pasted in with it are not part of it.
        text = unicodedata.normalize("NFKC", text.translate(INVISIBLE)).strip()
    match = _DMY_RE.fullmatch(text)
    if match is not None:
        day, _, month, year = match.groups()
    else:
        match = _ISO_RE.fullmatch(text)
        if match is None:
            return None
        year, month, day = match.groups()
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        return None


def format_dob(d: datetime.date) -> str:
    """``dd/mm/yyyy``."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def dob_text(dob: datetime.date | None, raw: str) -> str:
    """A lead's date of birth as payloads and exports carry it: ``dd/mm/yyyy``, else as given."""
    return format_dob(dob) if dob is not None else raw


def age_on(dob: datetime.date, today: datetime.date) -> int:
    """Completed years on ``today``; a 29 February birthday falls on 1 March in non-leap years."""
    # Comparing (month, day) tuples gives the 1 March rule for free: (2, 28) < (2, 29) <= (3, 1).
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
