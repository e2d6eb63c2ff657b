"""Legacy .xls and OpenDocument .ods lead files, good and hostile, built in memory.

.xls files are written by xlwt and then damaged byte by byte where an attack needs it
(xlwt writes the Workbook stream in consecutive sectors from sector 0, so a record can be
found and patched in the file itself). .ods files are a zip with content.xml by hand.
"""

import io
import struct
import zipfile
from xml.sax.saxutils import escape

import xlwt

from tests.hostile_files import _ODS_NS, HEADER, LEAD

ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"


def xls(sheets: dict[str, list[list[object]]]) -> bytes:
    """A BIFF8 workbook, one worksheet per entry, rows from A1."""
    book = xlwt.Workbook()
    for title, rows in sheets.items():
        sheet = book.add_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def leads_xls(count: int = 1, *, extra: tuple[str, ...] = ()) -> bytes:
    rows = [[*HEADER, *extra]] + [[f"Ann{i}", "Lee", "01/02/1990", *extra] for i in range(count)]
    return xls({"Leads": rows})


def _patch_record(data: bytes, kind: int, body: bytes) -> bytes:
    """Replace the body of the first record of `kind` whose length matches `body`."""
    marker = struct.pack("<HH", kind, len(body))
    at = data.index(marker, 512)
    return data[: at + 4] + body + data[at + 4 + len(body) :]


def huge_dimensions_xls() -> bytes:
    """A small .xls whose worksheet declares 1,048,576 rows by 256 columns."""
    return _patch_record(leads_xls(), 0x0200, struct.pack("<IIHHH", 0, 1_048_576, 0, 256, 0))


def chart_typed_sheet_xls() -> bytes:
    """The worksheet's BOF says it is a chart, and its DIMENSIONS declare 16,777,215 rows by
    255 columns: calamine reads what BOUNDSHEET lists whatever the BOF says (found by a
    review; it asked for 171 GB and aborted)."""
    data = bytearray(huge_dimensions_xls())
    at = data.index(struct.pack("<HHHH", 0x0809, 16, 0x0600, 0x0010), 512)
    struct.pack_into("<H", data, at + 6, 0x0020)
    return _patch_record(bytes(data), 0x0200, struct.pack("<IIHHH", 0, 0xFFFFFF, 0, 0xFF, 0))


def sheet_at_globals_xls() -> bytes:
    """BOUNDSHEET says the worksheet starts at offset 0, the globals' own BOF (which the
    measuring skips): calamine reads the globals as a sheet, DIMENSIONS and all."""
    data = bytearray(leads_xls())
    at = data.index(struct.pack("<H", 0x0085), 512)
    struct.pack_into("<I", data, at + 4, 0)
    return bytes(data)


def cells_after_embedded_chart_xls() -> bytes:
    """A worksheet holding an embedded chart's BOF..EOF before a cell far down the sheet."""
    data = far_cell_xls()
    at = data.index(struct.pack("<HH", 0x0200, 14), 512)  # the worksheet's DIMENSIONS
    chart = struct.pack("<HHHH12x", 0x0809, 16, 0x0600, 0x0020) + struct.pack("<HH", 0x000A, 0)
    # The stream's length is in the compound file's directory: drop as many bytes of the
    # padding after the last record as the chart adds.
    end = data.rindex(struct.pack("<HH", 0x000A, 0)) + 4
    return data[:at] + chart + data[at:end] + data[end + len(chart) :]


def far_cell_xls() -> bytes:
    """A cell moved to row 65,536, column IV, past what DIMENSIONS declares."""
    data = leads_xls()
    at = data.rindex(struct.pack("<HH", 0x00FD, 10))  # the last LABELSST
    return data[: at + 4] + struct.pack("<HH", 65_535, 255) + data[at + 8 :]


def password_protected_xls() -> bytes:
    """A workbook whose globals carry a FILEPASS record (here in place of WINDOWPROTECT)."""
    data = leads_xls()
    at = data.index(struct.pack("<HH", 0x0019, 2), 512)
    return data[:at] + struct.pack("<H", 0x002F) + data[at + 2 :]


def inverted_dimensions_xls() -> bytes:
    """DIMENSIONS whose first row is past its last: calamine's row count would wrap around
    and ask for hundreds of gigabytes (found by mutating a good file)."""
    return _patch_record(leads_xls(), 0x0200, struct.pack("<IIHHH", 0x0D000000, 0x33, 0, 3, 0))


def sst_bomb_xls(*, length: int = 32_000, uses: int = 400) -> bytes:
    """One long shared string used in `uses` cells."""
    rows = [list(HEADER)] + [["x" * length, "Lee", "01/02/1990"] for _ in range(uses)]
    return xls({"Leads": rows})


def _fat_offset(data: bytes) -> int:
    (first_fat,) = struct.unpack_from("<I", data, 0x4C)
    return 512 + first_fat * 512


def sector_loop_xls() -> bytes:
    """The Workbook stream's second sector says the first follows it: a loop."""
    data = bytearray(leads_xls(200))
    struct.pack_into("<I", data, _fat_offset(data) + 4, 0)
    return bytes(data)


def sector_out_of_range_xls() -> bytes:
    """The Workbook stream's chain points past the end of the file."""
    data = bytearray(leads_xls(200))
    struct.pack_into("<I", data, _fat_offset(data) + 4, 0x00FFFFF0)
    return bytes(data)


def renamed_stream_xls() -> bytes:
    """A compound file with no Workbook stream, as a Word or Outlook file has."""
    return leads_xls().replace("Workbook".encode("utf-16-le"), "Wordbook".encode("utf-16-le"))


def compound(workbook: bytes, small: bytes) -> bytes:
    """A compound file (512-byte sectors) holding `workbook` as its Workbook stream and
    `small` (under 4,096 bytes) as "\x05SummaryInformation", in the mini stream."""
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    mini = small + bytes(-len(small) % 64)
    body = workbook + bytes(-len(workbook) % 512)
    # sectors: 0 FAT, 1 directory, 2 mini FAT, then the mini stream, then the workbook
    mini_at, book_at = 3, 3 + len(mini) // 512 + (1 if len(mini) % 512 else 0)
    fat = [0xFFFFFFFD, end, end]
    for first, count in ((mini_at, book_at - mini_at), (book_at, len(body) // 512)):
        fat += [first + i + 1 for i in range(count - 1)] + [end]
    assert len(fat) <= 128, "one FAT sector"
    fat += [free] * (128 - len(fat))
    mini_fat = [i + 1 for i in range(len(mini) // 64 - 1)] + [end]
    mini_fat += [free] * (128 - len(mini_fat))

    def entry(name: str, kind: int, start: int, size: int, child: int = free) -> bytes:
        raw = (name + "\x00").encode("utf-16-le") if name else b""
        head = struct.pack("<64sHBBIII", raw, len(raw), kind, 1, free, free, child)
        return head + bytes(116 - len(head)) + struct.pack("<IQ", start, size)

    directory = (
        entry("Root Entry", 5, mini_at, len(small), child=1)
        + entry("Workbook", 2, book_at, len(workbook))
        + entry("\x05SummaryInformation", 2, 0, len(small))
        + entry("", 0, end, 0)
    )
    directory = directory.replace(  # Workbook's right sibling is the summary
        struct.pack("<II", free, free), struct.pack("<II", free, 2), 2
    )
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x2C, 1, 1, 0, 4096, 2, 1, end, 0, 0)
    header[0x4C + 4 :] = struct.pack("<I", free) * 108
    pad = bytes(-len(mini) % 512)
    return (
        bytes(header)
        + struct.pack("<128I", *fat)
        + directory
        + struct.pack("<128I", *mini_fat)
        + mini
        + pad
        + body
    )


def ods(
    sheets: dict[str, list[list[str]]], *, mimetype: str = ODS_MIMETYPE, content: str = ""
) -> bytes:
    """An OpenDocument spreadsheet of text cells, one table per entry."""
    tables = "".join(
        f'<table:table table:name="{escape(title)}">'
        + "".join(
            "<table:table-row>"
            + "".join(
                f'<table:table-cell office:value-type="string"><text:p>{escape(v)}</text:p>'
                "</table:table-cell>"
                for v in row
            )
            + "</table:table-row>"
            for row in rows
        )
        + "</table:table>"
        for title, rows in sheets.items()
    )
    content = content or (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS}>'
        f"<office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        archive.writestr("content.xml", content)
        archive.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
            f'manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type='
            f'"{mimetype}"/></manifest:manifest>',
        )
    return out.getvalue()


def repeated_text_ods(*, rows: int, columns: int, length: int) -> bytes:
    """A lead row repeated `rows` times whose last cell, `length` characters long, is
    repeated `columns` times."""
    from tests.hostile_files import _ods_row

    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS}>'
        '<office:body><office:spreadsheet><table:table table:name="Leads">'
        + _ods_row((*HEADER, "note"))
        + _ods_row((*LEAD, "x" * length), repeat_row=rows, repeat_last=columns)
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return ods({}, content=content)


def leads_ods(count: int = 1) -> bytes:
    rows = [list(HEADER)] + [[f"Ann{i}", "Lee", "01/02/1990"] for i in range(count)]
    return ods({"Leads": rows})


def zip_of_other_things() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8\xff" + bytes(100))
    return out.getvalue()


LEAD_ROW = list(LEAD)
