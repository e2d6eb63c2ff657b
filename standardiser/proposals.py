"""A model's answer read as a proposal, kept only where it re-reads text of the row.

AI proposes, the rules decide: this module only says which proposed values stay within the
row's own text; the chunk then validates the lead with them. Pure functions, no Django.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from collections.abc import Mapping

from leads.rules import display_name, format_dob
from standardiser.prompt import ANSWER_FIELDS, DOB_CELL, NAME_CELLS

_TOKEN_SPLIT = re.compile(r"[\s,.;:/()]+")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_answer(content: str | None) -> dict[str, str] | None:
    """The answer's fields as text, or None when empty, not JSON, or holding none of them."""
    if not content or not content.strip():
        return None
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    answer = {}
    for field in ANSWER_FIELDS:
        value = data.get(field)
        if isinstance(value, str) and value.strip():
            answer[field] = " ".join(value.split())
    return answer or None


def _tokens(text: str) -> set[str]:
    words = {word for word in _TOKEN_SPLIT.split(text.casefold()) if word}
    # "Mary-Jane" in a cell also gives "Mary" and "Jane".
    return words | {part for word in words for part in re.split(r"[-'’]", word) if part}


def _read_date(text: str) -> datetime.date | None:
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def accepted_fields(
    *, answer: Mapping[str, str], cells: Mapping[str, str], sent: Mapping[str, str]
) -> dict[str, object] | None:
    """The proposed first_name, last_name (display form) and dob (a date) that re-read the row.

    None when any proposed value does not: a name word not in the row's name cells, or used
    more often than they hold it (an empty field is filled by splitting a cell, never by
    copying a word); a date not read from its cell (or, the cell empty, from a name cell: see
    _date_read_from); or a date for a cell the model was not sent (an all-numeric date: the
    rules decide those).
    """
    available = Counter()
    for field in NAME_CELLS:
        if field in cells:
            available.update(_word_counts(cells[field]))
    proposed = Counter()
    fields: dict[str, object] = {}
    for field in ("first_name", "last_name"):
        value = answer.get(field)
        if value is None:
            continue
        if not _tokens(value) <= set(available):
            return None
        proposed.update(_words(value))
        fields[field] = display_name(value)
    if any(count > available[word] for word, count in proposed.items()):
        return None
    text = answer.get(DOB_CELL)
    if text is not None:
        dob = _read_date(text)
        if dob is None:
            return None
        if DOB_CELL in cells:
            if DOB_CELL not in sent or not _date_read_from(dob, cells[DOB_CELL]):
                return None
        elif not any(_date_read_from(dob, cells[f]) for f in NAME_CELLS if f in cells):
            return None
        fields["dob"] = dob
    return fields


def _words(text: str) -> list[str]:
    return [word for word in _TOKEN_SPLIT.split(text.casefold()) if word]


def _word_counts(text: str) -> Counter:
    """How often a cell holds each word, and each part of a hyphenated one ("Mary-Jane")."""
    counts = Counter(_words(text))
    for word, count in list(counts.items()):
        parts = [part for part in re.split(r"[-'’]", word) if part]
        if len(parts) > 1:
            counts.update(dict.fromkeys(parts, count))
    return counts


_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_NUMERIC_DATE = re.compile(r"\b([0-9]{1,2})\s*[/.-]\s*([0-9]{1,2})\s*[/.-]\s*([0-9]{4})\b")


def _date_read_from(dob: datetime.date, text: str) -> bool:
    """Whether ``dob`` is what ``text`` says, not a guess: its year (four digits), its day
    and its month (a number, or the month's name or its first three letters) are all in the
    text; a date in numbers within it ("DOB: 12/03/1990") is read day first, never swapped."""
    folded = text.casefold()
    numeric = _NUMERIC_DATE.search(folded)
    if numeric is not None:
        day, month, year = (int(part) for part in numeric.groups())
        return (year, month, day) == (dob.year, dob.month, dob.day)
    numbers = {int(digits) for digits in re.findall(r"[0-9]+", folded)}
    if f"{dob.year:04d}" not in folded or dob.day not in numbers:
        return False
    words = set(re.findall(r"[a-z]+", folded))
    name = _MONTHS[dob.month - 1]
    return dob.month in numbers - {dob.day, dob.year} or name in words or name[:3] in words


def changes(*, before: Mapping[str, str], after: Mapping[str, object]) -> dict[str, list[str]]:
    """{field: [before, after]} for the fields whose value the proposal changes."""
    changed = {}
    for field, value in after.items():
        shown = format_dob(value) if isinstance(value, datetime.date) else str(value)
        if shown != before.get(field, ""):
            changed[field] = [before.get(field, ""), shown]
    return changed
