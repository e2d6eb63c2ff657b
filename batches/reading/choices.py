"""A mapping chosen column by column: a field, kept as a supplier column, or ignored.

The preview offers one choice per column and a mapping profile stores one; this module
turns such a list into a ColumnMapping, refused with the reader's own messages when it
cannot be read (a required field fed by no column, one field fed by two).
"""

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence

from batches.reading.errors import AMBIGUOUS_COLUMNS, MISSING_COLUMNS, FileRefused
from batches.reading.headers import (
    FIELDS,
    ColumnMapping,
    column_letter,
    name_fields,
    normalise_header,
    refuse_missing,
    supplier_labels,
)

KEEP = "keep"  # the column goes with each lead as one of the supplier's own columns
IGNORE = "ignore"  # the column goes nowhere: not the raw row, not the supplier columns
# How a field chosen in the preview, or by a profile, was matched (ColumnMapping.matched_by).
BY_OPERATOR = "operator"
BY_PROFILE = "profile"


def choice_labels() -> list[tuple[str, str]]:
    """(value, label) of every choice a column has, fields first, in the reader's order."""
    return [(name, name) for name in FIELDS] + [
        (KEEP, "keep as supplier column"),
        (IGNORE, "ignore"),
    ]


def header_row(headers: Sequence[str]) -> tuple[str, ...]:
    """The normalised header row a mapping profile is keyed by: every header, in order, up
    to the last one that is not empty (an export's trailing separators add nothing)."""
    row = [normalise_header(header) for header in headers]
    while row and not row[-1]:
        row.pop()
    return tuple(row)


def profile_choices(mapping: ColumnMapping) -> tuple[str, ...]:
    """The mapping's choices for the columns of its header row (see header_row): what a
    mapping profile remembers."""
    return choices_of(mapping)[: len(header_row(mapping.headers))]


def with_reader_choices(columns: Sequence[str], mapping: ColumnMapping) -> tuple[str, ...]:
    """A profile's choices for this mapping's columns: the columns after its header row
    (unnamed ones) as the reader chose them."""
    return (*columns, *choices_of(mapping)[len(columns) :])


def header_key(row: Sequence[str]) -> str:
    """SHA-256 (hex) of a normalised header row: the unique key of its mapping profile."""
    return hashlib.sha256(json.dumps(list(row)).encode()).hexdigest()


def choices_of(mapping: ColumnMapping) -> tuple[str, ...]:
    """One choice per column, as the mapping reads it."""
    field_at = {index: name for name, index in mapping.fields.items()}
    return tuple(
        field_at.get(index, KEEP if index in mapping.extra else IGNORE)
        for index in range(len(mapping.headers))
    )


def mapping_chosen(
    mapping: ColumnMapping,
    choices: Sequence[str],
    *,
    how: str = BY_OPERATOR,
    profile: str = "",
    file_name: str = "",
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> ColumnMapping:
    """The mapping with each column as `choices` says; raise FileRefused when it cannot be.

    A field the operator chose where the reader had put it keeps the reader's "how matched";
    any other is marked `how`, and every field a profile maps is the profile's doing.
    `aliases` only serve the near-miss hints of a missing field.
    """
    headers = mapping.headers
    where = {"worksheet": mapping.worksheet, "file_name": file_name}
    if len(choices) != len(headers):
        raise _refused(
            MISSING_COLUMNS,
            f"{len(choices)} column choices for {len(headers)} columns",
            **where,
        )
    fields: dict[str, int] = {}
    ignored: set[int] = set()
    kept: set[int] = set()
    allowed = set(FIELDS)
    for index, choice in enumerate(choices):
        column = headers[index] or column_letter(index)
        if choice == IGNORE:
            ignored.add(index)
        elif choice == KEEP:
            kept.add(index)
        elif choice not in allowed:
            raise _refused(
                MISSING_COLUMNS,
                f"{choice!r} is not a lead field; choose a field, keep or ignore",
                column=column,
                **where,
            )
        elif choice in fields:
            first = _column_name(headers, fields[choice])
            raise _refused(
                AMBIGUOUS_COLUMNS,
                f"columns {first} and {_column_name(headers, index)} both feed {choice}; "
                "choose one",
                column=column,
                **where,
            )
        else:
            fields[choice] = index
    chosen = dict.fromkeys(ignored, "set to ignore")
    chosen |= dict.fromkeys(kept, "kept as a supplier column")
    refuse_missing(fields, headers, aliases=aliases, chosen=chosen, **where)
    fields = name_fields({name: fields[name] for name in FIELDS if name in fields})
    matched_by = {
        name: mapping.matched_by[name]
        if how != BY_PROFILE and mapping.fields.get(name) == index
        else how
        for name, index in fields.items()
    }
    return dataclasses.replace(
        mapping,
        fields=fields,
        matched_by=matched_by,
        extra=supplier_labels(headers, taken={*fields.values(), *ignored}),
        profile=profile,
        ambiguous=(),  # chosen column by column: nothing is left to settle
    )


def _column_name(headers: Sequence[str], index: int) -> str:
    header = headers[index]
    letter = column_letter(index)
    return f"{header!r} ({letter})" if header else f"column {letter}"


def _refused(code, detail, *, worksheet, file_name, column=None) -> FileRefused:
    if worksheet:
        detail = f"worksheet {worksheet!r}: {detail}"
    return FileRefused(code, detail, file_name=file_name, column=column)
