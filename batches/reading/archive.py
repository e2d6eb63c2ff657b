"""Vet a workbook's zip before any spreadsheet library opens it: its format, parts and size.

A workbook is refused when the memory a reader would need for it cannot be told from its
XML or is over the limits: too many parts, too big unpacked (shared strings counted at every
use), a worksheet spanning too many cells, or not the format it claims to be.
"""

import io
import posixpath
import struct
import zipfile
import zlib
from array import array
from dataclasses import dataclass

from batches.reading import sheet_scan, workbook_parts
from batches.reading.errors import MALFORMED_FILE, NOT_TEXT, TOO_LARGE, FileRefused, megabytes
from batches.reading.opendocument import check_opendocument

EXPANSION_LIMIT = 10  # total uncompressed size may be at most 10 x max_bytes
# python-calamine holds each worksheet as a dense grid (about 32 bytes a cell) spanning
# its first to its last cell, and aborts the process when that allocation fails: two
# cells at A1 and XFD1048576 in a 5 KB file ask for 550 GB. So the extent is measured
# from the XML first. 2,000,000 cells is 100,000 rows x 20 columns, about 64 MB.
MAX_SHEET_CELLS = 2_000_000
MAX_SHARED_STRINGS = 2_000_000
# A workbook from Excel has a dozen parts, a few hundred with many sheets and pictures;
# zipfile keeps a few hundred bytes for each part the central directory lists.
MAX_MEMBERS = 10_000
MAX_DIRECTORY_BYTES = 4 * 1024 * 1024
_MAX_RELATIONS_BYTES = 1024 * 1024
_MAX_SHEET_LIST_BYTES = 16 * 1024 * 1024  # xl/workbook.xml, with its defined names
_CHUNK = 256 * 1024
_EOCD = b"PK\x05\x06"
_SHEET_TYPES = ("/worksheet", "/chartsheet", "/dialogsheet", "/macrosheet")
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


@dataclass(frozen=True)
class WorkbookCheck:
    """What vetting found: whether every worksheet calamine may read was measured."""

    bounded: bool
    unmeasured: tuple[str, ...] = ()  # worksheet targets no part of the zip answers to
    kind: str = "xlsx"  # or "ods"


def check_workbook_archive(fileobj, *, name: str, max_bytes: int) -> WorkbookCheck:
    """Refuse a zip that is too big unpacked, corrupt, or not an .xlsx workbook.

    Reads the central directory first (declared sizes), then streams every XML part and
    every part the workbook's relations name once: that verifies each CRC (a member lying
    about its size fails it), measures the cell extent of each worksheet and adds up the
    shared strings its cells use.
    """
    fileobj.seek(0)
    try:
        _check_directory(fileobj, name)
        try:
            archive = zipfile.ZipFile(_ZipSource(fileobj))
        except _READ_ERRORS as exc:
            raise _damaged(exc, name) from None
        with archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise _too_many_members(len(members), name)
            unpacked = sum(m.file_size for m in members)
            if unpacked > EXPANSION_LIMIT * max_bytes:
                raise FileRefused(
                    TOO_LARGE,
                    f"the workbook unpacks to {megabytes(unpacked)}, over {EXPANSION_LIMIT} times "
                    f"the {megabytes(max_bytes)} upload limit (MAX_UPLOAD_MB)",
                    file_name=name,
                )
            names = {m.filename: m for m in members}
            if "mimetype" in names or "content.xml" in names:
                check_opendocument(
                    lambda member: _chunks(archive, member, name),
                    names,
                    name=name,
                    max_cells=MAX_SHEET_CELLS,
                )
                # Its cells' text is not measured: it is read in the memory-limited child.
                return WorkbookCheck(bounded=False, kind="ods")
            if "xl/workbook.bin" in names:
                raise FileRefused(
                    NOT_TEXT,
                    "an .xlsb (binary) workbook, which is not read: save it as .xlsx or .csv",
                    file_name=name,
                )
            if "xl/workbook.xml" not in names:
                if posixpath.splitext(name)[1].lower() == ".ods":
                    raise FileRefused(
                        MALFORMED_FILE,
                        "this .ods is a zip archive but not an OpenDocument spreadsheet",
                        file_name=name,
                    )
                raise FileRefused(
                    NOT_TEXT,
                    "a zip archive but not an .xlsx or .ods workbook",
                    file_name=name,
                )
            return _check_xlsx(archive, members, name, unpacked, EXPANSION_LIMIT * max_bytes)
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


def _too_many_members(count: int, name: str) -> FileRefused:
    return FileRefused(
        TOO_LARGE,
        f"the workbook has {count:,} parts, over the limit of {MAX_MEMBERS:,}",
        file_name=name,
    )


def _check_directory(fileobj, name: str) -> None:
    """Bound the central directory from the end record, before zipfile reads it whole."""
    size = fileobj.seek(0, io.SEEK_END) or 0
    length = min(size, 22 + 65_535)
    fileobj.seek(size - length)
    tail = fileobj.read(length)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return  # not a zip end record: zipfile says what is wrong
    entries, directory = struct.unpack_from("<HI", tail, at + 10)
    locator = at - 20
    if (entries == 0xFFFF or directory == 0xFFFFFFFF) and tail[locator : locator + 4] == (
        b"PK\x06\x07"
    ):
        (offset,) = struct.unpack_from("<Q", tail, locator + 8)
        if offset < size:
            fileobj.seek(offset)
            record = fileobj.read(56)
            if len(record) == 56 and record.startswith(b"PK\x06\x06"):
                entries, directory = struct.unpack_from("<QQ", record, 32)
    if entries > MAX_MEMBERS:
        raise _too_many_members(entries, name)
    if directory > MAX_DIRECTORY_BYTES:
        raise FileRefused(
            TOO_LARGE,
            f"the workbook's list of parts takes {directory:,} bytes, over the limit of "
            f"{MAX_DIRECTORY_BYTES:,}",
            file_name=name,
        )


def _chunks(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str):
    """The member's bytes, read to the end so that zipfile checks its CRC."""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                yield chunk
    except _READ_ERRORS as exc:
        raise _damaged(exc, name) from None


def _small_part(archive, names, path: str, name: str, *, limit: int) -> bytes:
    """A workbook part read whole (a list of sheets or relationships), within a limit."""
    member = names.get(path)
    if member is None:
        return b""
    if member.file_size > limit:
        raise FileRefused(
            MALFORMED_FILE,
            f"{path} takes {member.file_size:,} bytes, over the limit of {limit:,}",
            file_name=name,
        )
    return b"".join(_chunks(archive, member, name))


def _check_xlsx(archive, members, name: str, unpacked: int, limit: int) -> WorkbookCheck:
    names = {m.filename: m for m in members}
    folded = {m.filename.replace("\\", "/").lower(): m.filename for m in members}
    sheets: set[str] = set()
    strings = {"xl/sharedStrings.xml"} & names.keys()
    unmeasured = []
    parts: dict[str, list[str]] = {}
    rels = _small_part(
        archive, names, "xl/_rels/workbook.xml.rels", name, limit=_MAX_RELATIONS_BYTES
    )
    for key, kind, target in workbook_parts.relations(rels):
        found = parts[key] = workbook_parts.resolve(target, names, folded)
        if kind.endswith("/sharedStrings"):
            strings.update(found)
        else:
            sheets.update(found)  # any part a sheet may be read from, whatever its type
        if not found and kind.endswith(_SHEET_TYPES):
            unmeasured.append(target)
    listed = _small_part(archive, names, "xl/workbook.xml", name, limit=_MAX_SHEET_LIST_BYTES)
    part, count = workbook_parts.sheets_listed_again(listed, parts)
    if count:
        raise FileRefused(
            MALFORMED_FILE,
            f"its list of sheets names {part} {count:,} times (a damaged or crafted "
            "workbook): open it in Excel and save it again, or save it as .csv",
            file_name=name,
        )
    lengths = _shared_string_lengths(archive, names, sorted(strings), name)
    used = 0
    for member in members:  # (ZipInfo.is_dir() fails on an empty name)
        path = member.filename
        is_xml = path.lower().endswith((".xml", ".rels")) and path not in strings
        if path in sheets or is_xml:
            used += _check_member(archive, member, lengths, name)
            if unpacked + used > limit:
                raise FileRefused(
                    TOO_LARGE,
                    f"the workbook unpacks to {megabytes(unpacked)} and its shared strings, "
                    f"counted in every cell that uses them, to {megabytes(used)} more: over "
                    f"{EXPANSION_LIMIT} times the {megabytes(limit // EXPANSION_LIMIT)} upload "
                    "limit (MAX_UPLOAD_MB)",
                    file_name=name,
                )
    return WorkbookCheck(bounded=not unmeasured, unmeasured=tuple(unmeasured))


def _shared_string_lengths(archive, names, paths: list[str], name: str) -> array:
    """Each shared string's length; with several tables, the longest at each index."""
    lengths = array("L")
    for path in paths:
        table = sheet_scan.SharedStringLengths(limit=MAX_SHARED_STRINGS)
        try:
            sheet_scan.scan_member(
                _chunks(archive, names[path], name), [table], member=path, file_name=name
            )
        except sheet_scan.TooManyStrings:
            raise FileRefused(
                TOO_LARGE,
                f"{path} holds over {MAX_SHARED_STRINGS:,} shared strings",
                file_name=name,
            ) from None
        if not lengths:
            lengths = table.lengths
            continue
        for index, length in enumerate(table.lengths):
            if index >= len(lengths):
                lengths.append(length)
            elif length > lengths[index]:
                lengths[index] = length
    return lengths


def _check_member(archive, member, lengths: array, name: str) -> int:
    """Refuse a worksheet spanning too many cells; return its shared strings' total length."""
    chunks = _chunks(archive, member, name)
    uses = sheet_scan.SharedStringUses(lengths)
    try:
        try:
            extent = sheet_scan.ExplicitExtent()
            sheet_scan.scan_member(chunks, [extent, uses], member=member.filename, file_name=name)
        except sheet_scan.ImplicitPosition:  # some cell has no r="A1": follow tag by tag
            chunks = _chunks(archive, member, name)
            extent, uses = sheet_scan.Extent(), sheet_scan.SharedStringUses(lengths)
            sheet_scan.scan_member(chunks, [extent, uses], member=member.filename, file_name=name)
    except sheet_scan.BadReference as exc:
        reference = exc.args[0][:20].decode("latin-1")
        raise FileRefused(
            MALFORMED_FILE,
            f"{member.filename} has an invalid cell reference {reference!r}",
            file_name=name,
        ) from None
    except sheet_scan.OversizedCell:
        raise FileRefused(
            MALFORMED_FILE,
            f"{member.filename} has a cell over {sheet_scan.MAX_TAG:,} bytes of XML",
            file_name=name,
        ) from None
    if extent.rows * extent.columns > MAX_SHEET_CELLS:
        raise FileRefused(
            TOO_LARGE,
            f"{member.filename} spans {extent.rows:,} rows by {extent.columns:,} columns, "
            f"over the limit of {MAX_SHEET_CELLS:,} cells a worksheet",
            file_name=name,
        )
    return uses.total
