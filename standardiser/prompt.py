"""What the model is sent (name and date-of-birth cells only) and the key its answer is cached by.

Pure functions, no Django.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from leads.rules import parse_dob, validate_names
from leads.rules.cells import collapsed

# Bump when SYSTEM_PROMPT or the answer's shape changes: cached answers then no longer apply.
PROMPT_VERSION = "1"
NAME_CELLS = ("first_name", "last_name", "full_name")
DOB_CELL = "dob"
ANSWER_FIELDS = ("first_name", "last_name", "dob")

SYSTEM_PROMPT = (
    "You read a person's name and date of birth from spreadsheet cells a program could not "
    "read. Answer with a JSON object with exactly the keys first_name, last_name and dob. "
    "Use only text that appears in the cells: split a cell, reorder its words and fix their "
    "capitals, but never invent, translate or complete a name. dob is yyyy-mm-dd. Use null for "
    "a value the cells do not hold."
)


def row_cells(raw: Mapping[str, object]) -> dict[str, str]:
    """The row's name and date-of-birth cells that hold text, whitespace collapsed."""
    cells = {}
    for field in (*NAME_CELLS, DOB_CELL):
        text = collapsed(raw.get(field))
        if text:
            cells[field] = text
    return cells


def is_numeric_date(text: str) -> bool:
    """A date written without words ("15/03/1990", "1990-03-15"): the rules alone decide it."""
    return not any(ch.isalpha() for ch in text)


def cells_to_send(cells: Mapping[str, str]) -> dict[str, str]:
    """The cells the model may see: every name cell, the date of birth unless all-numeric."""
    return {
        field: text
        for field, text in cells.items()
        if field != DOB_CELL or not is_numeric_date(text)
    }


def needs_reading(*, first_name: str, last_name: str, dob_raw: object) -> tuple[bool, bool]:
    """(names unread, date unread): what the rules could not read of the row."""
    errors = validate_names(_Names(first_name, last_name), None)
    return bool(errors), parse_dob(dob_raw) is None


_YEAR = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")


def worth_sending(*, cells: Mapping[str, str], sent: Mapping[str, str], unread: tuple) -> bool:
    """Whether the model could read everything the rules could not from the cells it may see.

    Names come only from name cells; a date from its own cell, or, that cell empty, from a
    name cell holding it. A row with something no answer could mend is not sent: it could
    not pass the rules anyway.
    """
    names_unread, dob_unread = unread
    has_names = any(field in sent for field in NAME_CELLS)
    if names_unread and not has_names:
        return False
    # A date from a name cell needs a year written in it (what a proposal must re-read).
    year_in_names = any(_YEAR.search(sent[field]) for field in NAME_CELLS if field in sent)
    if dob_unread and not (DOB_CELL in sent or (DOB_CELL not in cells and year_in_names)):
        return False
    return names_unread or dob_unread


def cache_key(*, model: str, prompt_version: str, sent: Mapping[str, str]) -> str:
    """SHA-256 of (model, prompt version, the field -> text pairs sent)."""
    material = json.dumps([model, prompt_version, sorted(sent.items())], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def chat_messages(sent: Mapping[str, str]) -> list[dict[str, str]]:
    """The chat completion's messages for these cells."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": json.dumps(dict(sent), ensure_ascii=False)},
    ]


class _Names:
    """The two attributes validate_names reads, without cleaning a whole lead."""

    __slots__ = ("first_name", "last_name")

    def __init__(self, first_name: str, last_name: str):
        self.first_name = first_name
        self.last_name = last_name
