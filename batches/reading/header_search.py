"""Find the header row under a title: exports often start with a report title, a blank line
or a row of column groups ("Contact", "Personal") above the real header."""

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Sequence

from batches.reading.errors import MISSING_COLUMNS, FileRefused
from batches.reading.headers import ColumnMapping

# Rows (holding something) looked at for the header, the first included: a title and a
# group row fit many times over; the rows of an instructions sheet seldom do.
HEADER_SEARCH_ROWS = 10

MapCells = Callable[[Sequence[str]], ColumnMapping | None]


def locate_header(
    first: tuple[int, Sequence[str]],
    rest: Iterable[tuple[int, Sequence[str]]],
    map_cells: MapCells,
) -> ColumnMapping | None:
    """The mapping of the first row, or of the first row below it that names every
    required field; None when the first row names no field and no row below it does.

    `map_cells` maps one row's cells (None: they name no field at all; FileRefused
    otherwise). Rows are taken from `rest` only while searching, so after a header found
    on row N the next row `rest` gives is the first data row. When no row qualifies, the
    first row's own refusal is raised, as if no search had been made.
    """
    number, title = first
    try:
        mapping = map_cells(title)
    except FileRefused as exc:
        if exc.code != MISSING_COLUMNS:
            raise
        refusal = exc
    else:
        if mapping is not None:
            return mapping
        refusal = None
    for below, cells in itertools.islice(rest, HEADER_SEARCH_ROWS - 1):
        try:
            mapping = map_cells(cells)
        except FileRefused as exc:
            if exc.code != MISSING_COLUMNS:
                raise  # the header, with a problem of its own (columns alike)
            continue
        if mapping is not None:
            note = (
                f"the header is on row {below}: the rows above it (a title, or column "
                f"groups) are not read; row {number} holds {_shown(title)}"
            )
            return dataclasses.replace(mapping, header_row=below, notes=(note, *mapping.notes))
    if refusal is not None:
        raise refusal
    return None


def _shown(cells: Sequence[str]) -> str:
    text = " | ".join(str(cell) for cell in cells if str(cell).strip())
    return repr(text if len(text) <= 60 else text[:57] + "...")
