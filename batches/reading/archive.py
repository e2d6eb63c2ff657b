"""Vet an .xlsx zip before any spreadsheet library opens it: size, CRCs, sheet extents."""

import io
import re
import zipfile
import zlib

from batches.reading.errors import MALFORMED_FILE, NOT_TEXT, TOO_LARGE, FileRefused

EXPANSION_LIMIT = 10  # total uncompressed size may be at most 10 x max_bytes
# python-calamine holds each worksheet as a dense grid (about 32 bytes a cell) spanning
# its first to its last cell, and aborts the process when that allocation fails: two
# cells at A1 and XFD1048576 in a 5 KB file ask for 550 GB. So the extent is measured
# from the XML first. 2,000,000 cells is 100,000 rows x 20 columns, about 64 MB.
MAX_SHEET_CELLS = 2_000_000
_CHUNK = 256 * 1024
_MAX_TAG = 1024 * 1024
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
_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,  # an encrypted member
    NotImplementedError,  # an unknown compression method
    ValueError,  # a negative seek, from offsets in a damaged directory
)


def check_workbook_archive(fileobj, *, name: str, max_bytes: int) -> None:
    """Refuse a zip that is too big unpacked, corrupt, or not an .xlsx workbook.

    Reads the central directory first (declared sizes), then streams every XML member
    once: that verifies each CRC (a member lying about its size fails it) and measures
    the cell extent of each worksheet.
    """
    fileobj.seek(0)
    try:
        try:
            archive = zipfile.ZipFile(_ZipSource(fileobj))
        except _READ_ERRORS as exc:
            raise _damaged(exc, name) from None
        with archive:
            members = archive.infolist()
            unpacked = sum(m.file_size for m in members)
            if unpacked > EXPANSION_LIMIT * max_bytes:
                raise FileRefused(
                    TOO_LARGE,
                    f"the workbook unpacks to {unpacked:,} bytes, over {EXPANSION_LIMIT} times "
                    f"the {max_bytes:,}-byte upload limit",
                    file_name=name,
                )
            if "xl/workbook.xml" not in {m.filename for m in members}:
                raise FileRefused(
                    NOT_TEXT,
                    "a zip archive but not an .xlsx workbook (.xlsb and .ods are not supported)",
                    file_name=name,
                )
            for member in members:  # (ZipInfo.is_dir() fails on an empty name)
                if member.filename.lower().endswith((".xml", ".rels")):
                    _check_member(archive, member, name)
    finally:
        fileobj.seek(0)


class _ZipSource:
    """What zipfile needs of a file (it also asks seekable()), from read() and seek()."""

    def __init__(self, fileobj):
        self.read, self.seek = fileobj.read, fileobj.seek
        self.tell = getattr(fileobj, "tell", None) or (lambda: fileobj.seek(0, io.SEEK_CUR))

    def seekable(self) -> bool:
        return True


def _damaged(exc: Exception, name: str) -> FileRefused:
    return FileRefused(MALFORMED_FILE, f"a damaged .xlsx workbook ({exc})", file_name=name)


def _chunks(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str):
    """The member's bytes, read to the end so that zipfile checks its CRC."""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                yield chunk
    except _READ_ERRORS as exc:
        raise _damaged(exc, name) from None


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> None:
    try:
        extent = _scan(archive, member, _ExplicitExtent(), name)
    except _ImplicitPosition:  # some cell has no r="A1": follow positions tag by tag
        try:
            extent = _scan(archive, member, _Extent(), name)
        except _BadReference as exc:
            reference = exc.args[0][:20].decode("latin-1")
            raise FileRefused(
                MALFORMED_FILE,
                f"{member.filename} has an invalid cell reference {reference!r}",
                file_name=name,
            ) from None
    if extent.rows * extent.columns > MAX_SHEET_CELLS:
        raise FileRefused(
            TOO_LARGE,
            f"{member.filename} spans {extent.rows:,} rows by {extent.columns:,} columns, "
            f"over the limit of {MAX_SHEET_CELLS:,} cells a worksheet",
            file_name=name,
        )


def _scan(archive, member, extent, name):
    """Feed the member to `extent` in pieces that end on a tag boundary; read it to the end."""
    tail = b""
    for chunk in _chunks(archive, member, name):
        data = tail + chunk
        cut = data.rfind(b">") + 1  # every tag before this point is complete
        extent.scan(data[:cut])
        start = data.rfind(b"<", cut)
        tail = data[start:] if start >= 0 else b""  # an unfinished tag, or nothing
        if len(tail) > _MAX_TAG:
            raise FileRefused(
                MALFORMED_FILE,
                f"{member.filename} has an XML tag over {_MAX_TAG:,} bytes",
                file_name=name,
            )
    extent.scan(tail)
    return extent


class _ImplicitPosition(Exception):
    pass


class _BadReference(Exception):
    pass


class _ExplicitExtent:
    """Fast path for the usual XML where every cell names its position: regexes only."""

    def __init__(self):
        self.rows = self.columns = 0

    def scan(self, xml: bytes) -> None:
        cells = _plain_cells(xml)
        if cells is None:
            found = _CELL.findall(xml)
            if any(not letters for letters, _, _ in found):
                raise _ImplicitPosition
            # <c .../> holds no value; readers skip it
            cells = [(letters, digits) for letters, digits, end in found if not end]
        if cells:
            letters, digits = zip(*cells, strict=True)
            self.rows = max(self.rows, max(map(int, digits)))
            self.columns = max(self.columns, max(map(_column_number, set(letters))))


def _plain_cells(xml: bytes) -> list[tuple[bytes, bytes]] | None:
    """(letters, digits) of every cell when all are written <c r="A1" ...> with a value.

    That is how Excel and most libraries write them, and a literal search is about twice
    as fast as _CELL; None means some cell is written otherwise.
    """
    if b":c " in xml or b":c>" in xml or (b"/>" in xml and _EMPTY_CELL.search(xml)):
        return None
    cells = _PLAIN_CELL.findall(xml)
    return cells if len(cells) == xml.count(b"<c ") + xml.count(b"<c>") else None


class _Extent:
    """Track the row and column of each cell as a reader places them, keep the maxima."""

    def __init__(self):
        self.row = self.column = 0
        self.rows = self.columns = 0

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
                    raise _BadReference(ref.group(1))
                column = 0
                continue
            if ref is None:
                column += 1
            elif cell := _CELL_REF.fullmatch(ref.group(1)):
                column, row = _column_number(cell.group(1)), int(cell.group(2))
            else:  # "ZZZZZZ1" would be a column far past Excel's last, XFD
                raise _BadReference(ref.group(1))
            if not attrs.endswith(b"/"):
                rows, columns = max(rows, row), max(columns, column)
        self.row, self.column, self.rows, self.columns = row, column, rows, columns


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number
