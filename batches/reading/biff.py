"""Measure a legacy .xls workbook's BIFF records before python-calamine reads them.

calamine reserves each worksheet's grid from the size its DIMENSIONS record declares, lays
the cells out densely from the first to the last, and copies a shared string (SST) into
every cell that uses it; it aborts the process when an allocation fails. This walks the
records once, keeping counters only, so that such a workbook is refused first.
"""

import struct
from array import array
from dataclasses import dataclass, field

_BOF, _EOF, _FILEPASS, _BOUNDSHEET = 0x0809, 0x000A, 0x002F, 0x0085
_SST, _CONTINUE, _DIMENSIONS, _LABELSST = 0x00FC, 0x003C, 0x0200, 0x00FD
_MULRK, _MULBLANK = 0x00BD, 0x00BE
# Records that begin with the row and column of one cell.
_CELLS = frozenset((0x00FD, 0x0203, 0x027E, 0x0204, 0x0205, 0x0006, 0x0201, 0x00D6))


class BiffError(Exception):
    """The records are damaged; the message says how."""


class Encrypted(Exception):
    """The workbook is protected by a password (a FILEPASS record)."""


@dataclass
class SheetSize:
    declared_rows: int = 0
    declared_columns: int = 0
    rows: int = 0  # one past the last cell's row
    columns: int = 0

    @property
    def cells(self) -> int:
        return max(self.declared_rows * self.declared_columns, self.rows * self.columns)


@dataclass
class BiffMeasure:
    sheets: list[SheetSize] = field(default_factory=list)
    shared_strings: int = 0  # declared unique strings
    shared_text: int = 0  # characters of shared strings, counted at every use


def measure(stream: bytes, *, max_strings: int) -> BiffMeasure:
    """Walk the records of a Workbook stream; raise BiffError, Encrypted."""
    found = BiffMeasure()
    lengths = array("L")
    starts: set[int] = set()
    targets: list[int] = []
    # One entry per open BOF..EOF substream. Every substream after the globals is measured,
    # whatever type its BOF claims: calamine reads what BOUNDSHEET lists as a sheet, chart
    # or not, and a substream nested in a worksheet (an embedded chart) counts to it.
    open_streams: list[SheetSize | None] = []
    sheet: SheetSize | None = None
    table: list[bytes] | None = None  # the SST record and its CONTINUE records so far
    unpack = struct.unpack_from
    for kind, at, size in _records(stream):
        body = at + 4  # offsets into `stream`: slicing every record would copy it all
        if table is not None and kind != _CONTINUE:
            lengths = _string_lengths(table, found.shared_strings)
            table = None
        if kind == _BOF:
            starts.add(at)
            sheet = open_streams[-1] if open_streams else None
            if at and sheet is None:
                sheet = SheetSize()
                found.sheets.append(sheet)
            open_streams.append(sheet)
        elif not at:
            raise BiffError("its workbook stream does not start with a BOF record")
        elif kind == _EOF:
            if open_streams:
                open_streams.pop()
            sheet = open_streams[-1] if open_streams else None
        elif kind == _FILEPASS:
            raise Encrypted
        elif kind == _BOUNDSHEET and size >= 4:
            targets.append(unpack("<I", stream, body)[0])
        elif kind == _SST and size >= 8:
            found.shared_strings = unpack("<I", stream, body + 4)[0]
            if found.shared_strings > max_strings:
                return found
            table = [stream[body + 8 : body + size]]
        elif kind == _CONTINUE and table is not None:
            table.append(stream[body : body + size])
        elif sheet is None:
            continue
        elif kind in _CELLS and size >= 4:
            row, column = unpack("<HH", stream, body)
            sheet.rows, sheet.columns = max(sheet.rows, row + 1), max(sheet.columns, column + 1)
            if kind == _LABELSST and size >= 10:
                number = unpack("<I", stream, body + 6)[0]
                if number < len(lengths):
                    found.shared_text += lengths[number]
        elif kind == _DIMENSIONS and size >= 12:
            first_row, last_row, first_col, last_col = unpack("<IIHH", stream, body)
            if first_row > last_row or first_col > last_col:  # calamine's sums would wrap
                raise BiffError(f"a worksheet's dimensions at byte {at:,} end before they start")
            # Counted from A1: what calamine reserves is at most this (the largest, where a
            # nested substream declares its own).
            sheet.declared_rows = max(sheet.declared_rows, last_row)
            sheet.declared_columns = max(sheet.declared_columns, last_col)
        elif kind in (_MULRK, _MULBLANK) and size >= 6:
            row = unpack("<H", stream, body)[0]
            last = unpack("<H", stream, body + size - 2)[0]
            sheet.rows, sheet.columns = max(sheet.rows, row + 1), max(sheet.columns, last + 1)
    if not starts:
        raise BiffError("its workbook stream holds no BOF record")
    for target in targets:
        if not target:  # the globals' own BOF: read as a sheet, it would go unmeasured
            raise BiffError("a worksheet is said to start where the workbook's globals do")
        if target not in starts:
            raise BiffError(f"a worksheet is said to start at byte {target:,}, where none does")
    return found


def _records(stream: bytes):
    """(type, offset, length) of each record; refuse one that runs past the stream's end."""
    at, end = 0, len(stream)
    while at + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, at)
        if at + 4 + length > end:
            raise BiffError(f"a record at byte {at:,} runs past the end: the file is truncated")
        yield kind, at, length
        at += 4 + length


def _string_lengths(segments: list[bytes], count: int) -> array:
    """The length in characters of each string of an SST split over CONTINUE records.

    A string's characters may break into the next CONTINUE, which then starts with one
    byte saying whether they go on as one or two bytes each.
    """
    lengths = array("L")
    part, at = 0, 0
    while len(lengths) < count:
        while at >= len(segments[part]):
            part, at = part + 1, 0
            if part == len(segments):
                return lengths  # fewer strings than declared: the rest refer to nothing
        segment = segments[part]
        if at + 3 > len(segment):
            return lengths
        characters, flags = struct.unpack_from("<HB", segment, at)
        at += 3
        extra = 0
        if flags & 0x08 and at + 2 <= len(segment):
            extra += 4 * struct.unpack_from("<H", segment, at)[0]
            at += 2
        if flags & 0x04 and at + 4 <= len(segment):
            extra += struct.unpack_from("<I", segment, at)[0]
            at += 4
        width, left = (2 if flags & 0x01 else 1), characters
        while True:
            take = min(left, (len(segment) - at) // width)
            at, left = at + take * width, left - take
            if not left:
                break
            part += 1
            if part == len(segments):
                return lengths
            segment = segments[part]
            width, at = (2 if segment[:1] and segment[0] & 0x01 else 1), 1
        at += extra  # rich-text runs and extended data, which may also run on
        while part < len(segments) and at > len(segments[part]):
            at -= len(segments[part])
            part += 1
        if part == len(segments):
            segments.append(b"")  # consumed all; the loop above stops at the next string
        lengths.append(characters)
    return lengths
