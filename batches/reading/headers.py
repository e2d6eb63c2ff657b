"""Match a file's header cells to the lead fields: exact, alias, then fuzzy."""

from collections.abc import Collection, Mapping, Sequence

from rapidfuzz import fuzz, process

from batches.reading.errors import AMBIGUOUS_COLUMNS, MISSING_COLUMNS, FileRefused
from batches.reading.header_names import (
    DEFAULT_ALIASES,
    FIELDS,
    MAX_NAME_CHARS,
    MIN_FUZZY_LENGTH,
    NAME_FIELDS,
    NOT_FUZZY,
    REQUIRED_FIELDS,
    ColumnMapping,
    column_letter,
    fit_name,
    header_keys,
    name_table,
    normalise_header,
)

# What the reader and its callers import from here (the names live in header_names).
__all__ = [
    "DEFAULT_ALIASES",
    "FIELDS",
    "MAX_NAME_CHARS",
    "REQUIRED_FIELDS",
    "ColumnMapping",
    "ambiguous_refusal",
    "column_letter",
    "fit_name",
    "mapping_for_headers",
    "missing_fields",
    "name_fields",
    "normalise_header",
    "refuse_missing",
    "supplier_labels",
]


def _refuse(code, detail, *, worksheet, file_name, column=None):
    if worksheet:
        detail = f"worksheet {worksheet!r}: {detail}"
    return FileRefused(code, detail, file_name=file_name, column=column)


def mapping_for_headers(
    headers: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    fuzzy_threshold: int = 85,
    worksheet: str = "",
    file_name: str = "",
    skip_unrelated: bool = False,
    settle_ambiguous: bool = False,
) -> ColumnMapping | None:
    """Map header cells to fields; raise FileRefused for ambiguous or missing columns.

    With `skip_unrelated`, headers that name no field at all (a workbook's notes or summary
    sheet) give None instead of a refusal. With `settle_ambiguous`, several columns that
    look like one field are no refusal: the first feeds it, the mapping says so
    (`ambiguous`), and whoever shows it to an operator lets them choose.
    """
    found = tuple(str(h).replace("\ufeff", "").replace("\x00", "").strip() for h in headers)
    notes = tuple(
        f"the header of column {column_letter(i)} has {len(h):,} characters: "
        f"cut to {MAX_NAME_CHARS}"
        for i, h in enumerate(found)
        if len(h) > MAX_NAME_CHARS
    )
    if notes:
        found = tuple(fit_name(h) for h in found)
    table = name_table(aliases)
    keys = header_keys(found, table)

    claims: dict[str, list[tuple[int, str]]] = {}
    pending: list[int] = []
    for index, key in enumerate(keys):
        if key in table:
            field_name, how = table[key]
            claims.setdefault(field_name, []).append((index, how))
        elif len(key) >= MIN_FUZZY_LENGTH:
            pending.append(index)
    where = {"worksheet": worksheet, "file_name": file_name}
    ambiguous = _ambiguous(claims, found, settle=settle_ambiguous, **where)

    # Fuzzy matching only competes for fields that no header named outright.
    # A consent date is never guessed: a near miss ("Contact Date") would date a consent.
    choices = [k for k, (f, _) in table.items() if f not in claims and f not in NOT_FUZZY]
    guesses: dict[str, list[tuple[int, str]]] = {}
    for index in pending:
        best = process.extractOne(
            keys[index], choices, scorer=fuzz.ratio, score_cutoff=fuzzy_threshold
        )
        if best is not None:
            field_name = table[best[0]][0]
            guesses.setdefault(field_name, []).append((index, f"fuzzy:{best[1]:.0f}"))
    ambiguous += _ambiguous(guesses, found, settle=settle_ambiguous, **where)
    claims.update(guesses)
    if skip_unrelated and not claims:
        return None

    fields = name_fields({f: claims[f][0][0] for f in FIELDS if f in claims})
    matched_by = {f: claims[f][0][1] for f in FIELDS if f in fields}
    refuse_missing(fields, found, aliases=aliases, worksheet=worksheet, file_name=file_name)
    return ColumnMapping(
        worksheet=worksheet,
        headers=found,
        fields=fields,
        matched_by=matched_by,
        extra=supplier_labels(found, taken=set(fields.values())),
        notes=notes,
        ambiguous=ambiguous,
    )


def missing_fields(fields: Mapping[str, int]) -> list[str]:
    """The required fields that no column feeds; a full name stands in for both names when
    neither of them has a column."""
    if "full_name" in fields and not any(f in fields for f in NAME_FIELDS):
        return [f for f in REQUIRED_FIELDS if f not in fields and f not in NAME_FIELDS]
    return [f for f in REQUIRED_FIELDS if f not in fields]


def name_fields(fields: dict[str, int]) -> dict[str, int]:
    """`fields` without full_name when a first or last name column exists: that column is
    then the supplier's own."""
    if "full_name" in fields and any(f in fields for f in NAME_FIELDS):
        return {f: i for f, i in fields.items() if f != "full_name"}
    return fields


def refuse_missing(
    fields: Mapping[str, int],
    found: Sequence[str],
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    worksheet: str = "",
    file_name: str = "",
    chosen: Mapping[int, str] | None = None,
) -> None:
    """Raise FileRefused naming the required fields missing, the headers and near misses.

    `chosen`: what the operator made of the columns that feed no field (index -> "set to
    ignore"...), said beside a near miss, which is then most likely their slip.
    """
    missing = missing_fields(fields)
    if missing:
        table = name_table(aliases)
        keys = header_keys(found, table)
        detail = _missing_detail(missing, found, keys, set(fields.values()), table, chosen or {})
        raise _refuse(MISSING_COLUMNS, detail, worksheet=worksheet, file_name=file_name)


def supplier_labels(found: Sequence[str], *, taken: Collection[int]) -> dict[int, str]:
    """Column index -> label of each column not in `taken`: its header, made unique.

    A repeated header gets " (2)", " (3)"...: the next number that no other column has as
    its label or its own header, so a file's own "Notes (2)" keeps its name and its values,
    and a second "Notes" beside it becomes "Notes (3)".
    """
    extra: dict[int, str] = {}
    labels = [header or f"column_{column_letter(index)}" for index, header in enumerate(found)]
    given = {label for index, label in enumerate(labels) if index not in taken}
    used: set[str] = set()
    numbered: dict[str, int] = {}  # header -> the last number its copies were given
    for index, label in enumerate(labels):
        if index in taken:
            continue
        if label in used:
            number = numbered.get(label, 1)
            while True:
                number += 1
                candidate = fit_name(label, suffix=f" ({number})")
                if candidate not in used and candidate not in given:
                    break
            numbered[label] = number
            label = candidate
        used.add(label)
        extra[index] = label
    return extra


def _ambiguous(claims, found, *, settle, worksheet, file_name) -> tuple[tuple[str, str], ...]:
    """Each field several columns look like, as (what was found, the second column); with
    `settle`, the first column is left to feed it (the others dropped from ``claims``),
    else the first such field is refused."""
    settled = []
    for field_name, hits in claims.items():
        if len(hits) > 1:
            names = ", ".join(repr(found[i]) for i, _ in hits[:-1])
            names += f" and {found[hits[-1][0]]!r}"
            each = "both look" if len(hits) == 2 else "all look"
            found_text = f"columns {names} {each} like {field_name}"
            if not settle:
                raise ambiguous_refusal(
                    (found_text, found[hits[1][0]]), worksheet=worksheet, file_name=file_name
                )
            settled.append((found_text, found[hits[1][0]]))
            del hits[1:]
    return tuple(settled)


def ambiguous_refusal(item: tuple[str, str], *, worksheet: str, file_name: str) -> FileRefused:
    """The refusal of a field several columns look like, where no one can choose between them."""
    found_text, column = item
    return _refuse(
        AMBIGUOUS_COLUMNS,
        f"{found_text}; rename or remove all but one (or choose in the admin's upload preview)",
        worksheet=worksheet,
        file_name=file_name,
        column=column,
    )


MAX_HEADERS_LISTED = 30


def _missing_detail(missing, found, keys, taken, table, chosen) -> str:
    named = [repr(h) for h in found if h]
    listed = ", ".join(named[:MAX_HEADERS_LISTED]) or "none"
    if len(named) > MAX_HEADERS_LISTED:  # a refusal stays readable, whatever the file holds
        listed += f" and {len(named) - MAX_HEADERS_LISTED:,} more"
    candidates = [i for i, k in enumerate(keys) if k and i not in taken]
    hints = []
    for field_name in missing:
        names = [k for k, (f, _) in table.items() if f == field_name]
        best = None
        for name in names:
            hit = process.extractOne(name, [keys[i] for i in candidates], scorer=fuzz.ratio)
            if hit is not None and (best is None or hit[1] > best[1]):
                best = hit
        if best is None:
            hints.append(f"{field_name}: no unmatched header to compare")
        else:
            index = candidates[best[2]]
            choice = f", {chosen[index]}" if index in chosen else ""
            hints.append(f"{field_name}: closest is {found[index]!r} ({best[1]:.0f}%{choice})")
    plural = "s" if len(missing) > 1 else ""
    return (
        f"missing required column{plural} {', '.join(missing)}; headers found: {listed}; "
        + "; ".join(hints)
        + "; rename the column, or add its header as an alias of the field (Batches → Header "
        "aliases) so that files like it are read"
    )
