"""Measure a worksheet's XML without a parser: its cell extent and its shared-string uses.

python-calamine holds each worksheet as a dense grid (about 32 bytes a cell) spanning its
first to its last cell, and copies a shared string into every cell that uses it; it aborts
the process when an allocation fails. These scanners read the XML as bytes, in pieces, and
keep only counters, so that a workbook can be refused before calamine opens it.
"""

import html
import re
from array import array
from collections import Counter

from batches.reading.errors import MALFORMED_FILE, FileRefused

MAX_TAG = 1024 * 1024
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"""\sr\s*=\s*["']([^"']*)["']""")
_CELL_REF = re.compile(rb"([A-Za-z]{1,3})([0-9]{1,7})")  # up to XFD1048576 and a bit
_ROW_REF = re.compile(rb"[0-9]{1,7}")
# A cell tag: its r="A1" split in letters and digits (both b"" when it has none), and
# b"/" when it is self-closing.
_CELL = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?c(?=[\s/>])"
    rb"""(?:[^>]*?\sr\s*=\s*["']([A-Za-z]{1,3})([0-9]{1,7})["'])?[^>]*?(/?)>"""
)
_PLAIN_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_EMPTY_CELL = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?c(?=[\s/])[^>]*/>")
_P = rb"(?:[A-Za-z_][\w.\-]*:)?"
# A shared-string cell as Excel writes it, its one value the string's number.
_PLAIN_SHARED_USE = re.compile(rb'<c [^>]*?t="s"[^>]*><v>([0-9]{1,10})</v></c>')
# Otherwise: each shared-string cell's body, and every value in it (calamine takes the last).
_SHARED_CELL = re.compile(
    rb"<" + _P + rb"""c\s[^>]*?\bt\s*=\s*["']s["'][^>/]*>(.*?)</""" + _P + rb"c>", re.DOTALL
)
_VALUE = re.compile(rb"<" + _P + rb"v(?:\s[^>]*)?>([^<]*)</")
_SHARED_MARK = re.compile(rb"""\bt\s*=\s*["']s["']""")
_SHARED_EMPTY = re.compile(rb"<" + _P + rb"""c\s[^>]*?\bt\s*=\s*["']s["'][^>]*/>""")
_INDEX = re.compile(r"\+?0*([0-9]{1,10})")
_CELL_START = re.compile(rb"<" + _P + rb"c(?=[\s/>])")
_CELL_END = re.compile(rb"</" + _P + rb"c>")
_SI = re.compile(rb"<(/?)" + _P + rb"si(?=[\s/>])([^>]*)>")


def scan_member(chunks, consumers, *, member: str, file_name: str) -> None:
    """Feed the member's bytes to each consumer in pieces that end on a tag boundary.

    Each consumer gets scan(piece) for the pieces and skip(count) for the bytes of text
    between them that hold no tag, so that it can keep offsets.
    """
    tail = b""
    for chunk in chunks:
        data = tail + chunk
        cut = data.rfind(b">") + 1  # every tag before this point is complete
        start = data.rfind(b"<", cut)
        for consumer in consumers:
            consumer.scan(data[:cut])
            if start > cut or (start < 0 and len(data) > cut):
                consumer.skip((start if start >= 0 else len(data)) - cut)
        tail = data[start:] if start >= 0 else b""  # an unfinished tag, or nothing
        if len(tail) > MAX_TAG:
            raise FileRefused(
                MALFORMED_FILE,
                f"{member} has an XML tag over {MAX_TAG:,} bytes",
                file_name=file_name,
            )
    for consumer in consumers:
        consumer.scan(tail)


class ImplicitPosition(Exception):
    """Some cell has no r="A1": its position must be followed tag by tag."""


class BadReference(Exception):
    pass


class ExplicitExtent:
    """Fast path for the usual XML where every cell names its position: regexes only."""

    def __init__(self):
        self.rows = self.columns = 0

    def skip(self, count: int) -> None:
        pass

    def scan(self, xml: bytes) -> None:
        cells = _plain_cells(xml)
        if cells is None:
            found = _CELL.findall(xml)
            if any(not letters for letters, _, _ in found):
                raise ImplicitPosition
            # <c .../> holds no value; readers skip it
            cells = [(letters, digits) for letters, digits, end in found if not end]
        if cells:
            letters, digits = zip(*cells, strict=True)
            self.rows = max(self.rows, max(map(int, digits)))
            self.columns = max(self.columns, max(map(column_number, set(letters))))


def _plain_cells(xml: bytes) -> list[tuple[bytes, bytes]] | None:
    """(letters, digits) of every cell when all are written <c r="A1" ...> with a value.

    That is how Excel and most libraries write them, and a literal search is about twice
    as fast as _CELL; None means some cell is written otherwise.
    """
    if b":c " in xml or b":c>" in xml or (b"/>" in xml and _EMPTY_CELL.search(xml)):
        return None
    cells = _PLAIN_CELL.findall(xml)
    return cells if len(cells) == xml.count(b"<c ") + xml.count(b"<c>") else None


class Extent:
    """Track the row and column of each cell as a reader places them, keep the maxima."""

    def __init__(self):
        self.row = self.column = 0
        self.rows = self.columns = 0

    def skip(self, count: int) -> None:
        pass

    def scan(self, xml: bytes) -> None:
        row, column = self.row, self.column
        rows, columns = self.rows, self.columns
        for match in _TAG.finditer(xml):
            kind, attrs = match.groups()
            ref = _R_ATTR.search(attrs)
            if kind == b"row":
                if ref is None:
                    row += 1
                elif _ROW_REF.fullmatch(ref.group(1)):
                    row = int(ref.group(1))
                else:
                    raise BadReference(ref.group(1))
                column = 0
                continue
            if ref is None:
                column += 1
            elif cell := _CELL_REF.fullmatch(ref.group(1)):
                column, row = column_number(cell.group(1)), int(cell.group(2))
            else:  # "ZZZZZZ1" would be a column far past Excel's last, XFD
                raise BadReference(ref.group(1))
            if not attrs.endswith(b"/"):
                rows, columns = max(rows, row), max(columns, column)
        self.row, self.column, self.rows, self.columns = row, column, rows, columns


def column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


class TooManyStrings(Exception):
    pass


class SharedStringLengths:
    """The length in bytes of each <si> item of a shared-string table, in order."""

    def __init__(self, *, limit: int):
        self.limit = limit
        self.lengths = array("L")
        self.offset = 0
        self.opened: int | None = None

    def skip(self, count: int) -> None:
        self.offset += count

    def scan(self, xml: bytes) -> None:
        for match in _SI.finditer(xml):
            closing, attrs = match.groups()
            if not closing and not attrs.endswith(b"/"):
                self.opened = self.offset + match.end()
            elif not closing:
                self.lengths.append(0)  # <si/>
            elif self.opened is not None:
                self.lengths.append(self.offset + match.start() - self.opened)
                self.opened = None
        self.offset += len(xml)
        if len(self.lengths) > self.limit:
            raise TooManyStrings


class OversizedCell(Exception):
    """A cell whose XML runs past MAX_TAG bytes (Excel's largest is under 200 KB)."""


class SharedStringUses:
    """Sum the lengths of the shared strings a worksheet's cells use, one per use."""

    def __init__(self, lengths: array):
        self.lengths = lengths
        self.total = 0
        self.pending = b""  # the start of a shared-string cell cut off by a piece's end

    def skip(self, count: int) -> None:
        if self.pending:  # text inside that cell: keep its place with one space
            self.pending += b" "
            if count > MAX_TAG:
                raise OversizedCell

    def scan(self, xml: bytes) -> None:
        data = self.pending + xml if self.pending else xml
        self.pending = b""
        if not self.lengths or not _SHARED_MARK.search(data):
            return
        start = _last_cell_start(data)
        if start >= 0 and not _CELL_END.search(data, start):
            head = data.find(b">", start)
            if head < 0 or data[head - 1 : head] != b"/":  # an open cell: finish it next time
                self.pending = data[start:]
                if len(self.pending) > MAX_TAG:
                    raise OversizedCell
                data = data[:start]
        uses = _PLAIN_SHARED_USE.findall(data)
        marks = len(_SHARED_MARK.findall(data))
        if len(uses) != marks:
            uses, unread = [], 0
            cells = _SHARED_CELL.findall(data)
            for body in cells:
                values = [_index(value) for value in _VALUE.findall(body)]
                uses.extend(number for number in values if number is not None)
                unread += values.count(None) + (not values)
            # A use this cannot read (written in a way calamine may still read: a CDATA
            # section, a comment before <v>) counts as the longest string.
            unread += max(0, marks - len(cells) - len(_SHARED_EMPTY.findall(data)))
            if unread:
                self.total += unread * max(self.lengths)
        lengths, size = self.lengths, len(self.lengths)
        for index, count in Counter(uses).items():
            number = int(index)
            if number < size:  # an index past the table refers to nothing
                self.total += lengths[number] * count


def _index(value: bytes) -> int | None:
    """A shared-string index as a reader takes it: character references decoded, and any
    number of leading zeros or a plus sign allowed (Rust's integer parsing in calamine).
    None when it is not one, or has more digits than any table could need."""
    text = html.unescape(value.decode("utf-8", "replace")).strip()
    found = _INDEX.fullmatch(text)
    return int(found.group(1)) if found else None


def _last_cell_start(data: bytes) -> int:
    """Where the last cell tag (<c ...>, <x:c ...>) of `data` starts, or -1."""
    best = -1
    for needle in (b"<c", b":c"):
        end = len(data)
        while (found := data.rfind(needle, 0, end)) > best:
            start = found if needle == b"<c" else data.rfind(b"<", 0, found)
            if start >= 0 and _CELL_START.match(data, start):
                best = start
                break
            end = found
    return best
