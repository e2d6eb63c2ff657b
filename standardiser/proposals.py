"""A model's answer read as a proposal, kept only where it re-reads text of the row.

AI proposes, the rules decide: this module only says which proposed values stay within the
row's own text; the chunk then validates the lead with them. Pure functions, no Django.
"""

from __future__ import annotations

import datetime
import json
import re
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

    None when any proposed value does not: a name token not in the row's name cells, a date
    whose year is not in its cell (or, the cell empty, in a name cell), or a date for a cell
    the model was not sent (an all-numeric date: the rules decide those).
    """
    name_tokens = set().union(*(_tokens(cells[f]) for f in NAME_CELLS if f in cells))
    fields: dict[str, object] = {}
    for field in ("first_name", "last_name"):
        value = answer.get(field)
        if value is None:
            continue
        if not _tokens(value) <= name_tokens:
            return None
        fields[field] = display_name(value)
    text = answer.get(DOB_CELL)
    if text is not None:
        dob = _read_date(text)
        if dob is None:
            return None
        if DOB_CELL in cells:
            if DOB_CELL not in sent or f"{dob.year:04d}" not in cells[DOB_CELL]:
                return None
        elif not any(f"{dob.year:04d}" in cells[f] for f in NAME_CELLS if f in cells):
            return None
        fields["dob"] = dob
    return fields


def changes(*, before: Mapping[str, str], after: Mapping[str, object]) -> dict[str, list[str]]:
    """{field: [before, after]} for the fields whose value the proposal changes."""
    changed = {}
    for field, value in after.items():
        shown = format_dob(value) if isinstance(value, datetime.date) else str(value)
        if shown != before.get(field, ""):
            changed[field] = [before.get(field, ""), shown]
    return changed
