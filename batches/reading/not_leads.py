"""Rows under a header that hold no lead: a totals or footer line, or the header row again.

Exports end with "Total: 250" or "End of report", and two exports pasted into one file repeat
the header. Read as leads they were invalid ones (no date of birth) sent to the customer. Such
a row has no date of birth, so only rows without one are looked at (the reader's hot loops pay
one comparison per row), and the file's notes say which rows were left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from batches.reading.headers import ColumnMapping, normalise_header

# The start of the first cell that holds anything: "Total", "TOTALS:", "Grand total",
# "Sub-total", "End of report", "Row count", "Records: 250"...
_FOOTER = re.compile(
    r"\s*(?:(?:grand|sub)[\s-]*)?totals?\b"
    r"|\s*end\s+of\s+(?:the\s+)?(?:report|file|data|list|export)\b"
    r"|\s*(?:rows?|records?|leads?)\s*(?:count|total|:)",
    re.IGNORECASE,
)
REPEATED_HEADER = "the header row again"
FOOTER = "a total or footer line"
_NOTED = 5


class RowsWithoutLeads:
    """For one mapping: which rows are not leads, and the rows left out so far."""

    def __init__(self, mapping: ColumnMapping):
        fields = mapping.fields
        self._dob = fields.get("dob")
        self.dob_header = mapping.headers[self._dob].strip() if self._dob is not None else None
        self._last = fields.get("last_name")
        self._header = {
            index: normalise_header(mapping.headers[index]) for index in fields.values()
        }
        self.left_out: list[tuple[int, str]] = []

    def skip(self, number: int, cells: Sequence) -> bool:
        """`leave_out` for a row of a file being counted (its cells only)."""
        if self._dob is None:
            return False
        dob = _text(cells[self._dob]) if self._dob < len(cells) else ""
        return self.without_dob(dob) and self.leave_out(number, cells)

    def without_dob(self, dob) -> bool:
        """Whether a row with this date-of-birth value must be looked at (`leave_out`)."""
        return not dob or dob == self.dob_header

    def leave_out(self, number: int, cells: Sequence) -> bool:
        """Whether row `number` (its `cells`, from column A) holds no lead; noted if so."""
        if self._dob is None:
            return False
        why = self._why(cells)
        if why is None:
            return False
        self.left_out.append((number, why))
        return True

    def _why(self, cells: Sequence) -> str | None:
        size = len(cells)
        texts = {i: _text(cells[i]) if i < size else "" for i in self._header}
        if all(normalise_header(texts[i]) == key for i, key in self._header.items()):
            return REPEATED_HEADER
        if texts[self._dob] or (self._last is not None and texts[self._last]):
            return None
        first = next((text for cell in cells if (text := _text(cell))), "")
        return FOOTER if first and _FOOTER.match(first) else None

    def notes(self) -> tuple[str, ...]:
        if not self.left_out:
            return ()
        shown = ", ".join(f"row {number} ({why})" for number, why in self.left_out[:_NOTED])
        more = len(self.left_out) - _NOTED
        tail = f" and {more:,} more" if more > 0 else ""
        return (f"not read, holding no lead: {shown}{tail}",)


def _text(cell) -> str:
    return cell.strip() if isinstance(cell, str) else ("" if cell is None else str(cell))
