"""Columns with neither a header nor a value: the trailing separators (`;;;`) many exports
write. Kept, they became supplier columns (column_H, column_I...) empty on every lead and
added to every results CSV; a column with no header but values in it stays one."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from batches.reading.headers import ColumnMapping


class BlankColumns:
    """The supplier columns of `mapping` without a header, until a row shows a value in them."""

    def __init__(self, mapping: ColumnMapping):
        self.unseen = {i for i in mapping.extra if not mapping.headers[i]}  # headers are stripped

    def see(self, cells: Sequence) -> None:
        """Note the values of a data row (call only while `unseen` is not empty)."""
        size = len(cells)
        self.unseen = {i for i in self.unseen if i >= size or not _holds(cells[i])}

    def mapping_without(self, mapping: ColumnMapping) -> ColumnMapping:
        """`mapping` without the columns no row filled."""
        if not self.unseen:
            return mapping
        extra = {i: label for i, label in mapping.extra.items() if i not in self.unseen}
        return dataclasses.replace(mapping, extra=extra)


def _holds(cell) -> bool:
    return bool(cell.strip()) if isinstance(cell, str) else cell is not None and cell != ""
