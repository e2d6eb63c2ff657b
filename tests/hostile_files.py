"""Small hostile files that once crashed, stalled or bloated the reader, built in memory.

Each generator is deterministic and returns the file's bytes; sizes default to the attack as
it was reported, and tests may pass smaller ones with a smaller limit.
"""

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"

HEADER = ("first_name", "last_name", "dob")
LEAD = ("Ann", "Lee", "01/02/1990")


def column_letter(index: int) -> str:
    """0 -> "A", 16383 -> "XFD"."""
    letters, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def inline_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def text_row(number: int, values: Iterable[str]) -> str:
    cells = "".join(
        inline_cell(f"{column_letter(i)}{number}", value) for i, value in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def worksheet_xml(rows: Iterable[str], *, dimension: str = "") -> Iterator[bytes]:
    """A worksheet's XML in pieces, from row elements written by hand."""
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}">'.encode()
    if dimension:
        yield f'<dimension ref="{dimension}"/>'.encode()
    yield b"<sheetData>"
    for row in rows:
        yield row.encode()
    yield b"</sheetData></worksheet>"


def xlsx(
    sheets: dict[str, Iterable[bytes]],
    *,
    shared_strings: Iterable[str] = (),
    member_names: dict[str, str] | None = None,
    targets: dict[str, str] | None = None,
) -> bytes:
    """A minimal .xlsx: sheet title -> its XML pieces.

    `member_names` renames a sheet's member; `targets` changes only where the workbook's
    relations say the sheet is.
    """
    member_names, targets = member_names or {}, targets or {}
    shared = list(shared_strings)
    names = [
        member_names.get(title, f"xl/worksheets/sheet{i}.xml")
        for i, title in enumerate(sheets, start=1)
    ]
    overrides = "".join(
        f'<Override PartName="/{name}" ContentType="{_OFFICE}.worksheet+xml"/>' for name in names
    )
    if shared:
        overrides += (
            '<Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{_OFFICE}.sharedStrings+xml"/>'
        )
    relations = "".join(
        f'<Relationship Id="rId{i}" Target="{targets.get(title, name.removeprefix("xl/"))}" '
        f'Type="{_REL}/worksheet"/>'
        for i, (title, name) in enumerate(zip(sheets, names, strict=True), start=1)
    )
    if shared:
        relations += (
            f'<Relationship Id="rId{len(names) + 1}" Target="sharedStrings.xml" '
            f'Type="{_REL}/sharedStrings"/>'
        )
    titles = "".join(
        f'<sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
        for i, title in enumerate(sheets, start=1)
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{_TYPES}">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE}.sheet.main+xml"/>'
            f"{overrides}</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Target="xl/workbook.xml" Type="{_REL}/officeDocument"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{titles}</sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{_PKG_REL}">{relations}</Relationships>',
        )
        if shared:
            items = "".join(f"<si><t>{escape(text)}</t></si>" for text in shared)
            archive.writestr(
                "xl/sharedStrings.xml",
                f'<sst xmlns="{_MAIN}" count="{len(shared)}" uniqueCount="{len(shared)}">'
                f"{items}</sst>",
            )
        for name, pieces in zip(names, sheets.values(), strict=True):
            with archive.open(name, "w") as member:
                for piece in pieces:
                    member.write(piece)
    return out.getvalue()


def leads_sheet(*rows: Iterable[str]) -> Iterator[bytes]:
    """A worksheet with the three required headers and the given data rows."""
    return worksheet_xml(text_row(n, row) for n, row in enumerate((HEADER, *rows), start=1))


# --- the attacks -------------------------------------------------------------------------------


def sheet_stored_as_bin() -> bytes:
    """Cells at A1 and XFD1048576 in a sheet member named .bin (the extent check read .xml only).

    calamine would allocate a dense 1,048,576 x 16,384 grid: 550 GB.
    """
    rows = [text_row(1, HEADER), text_row(2, LEAD), '<row r="1048576">']
    rows += [inline_cell("XFD1048576", "x"), "</row>"]
    return xlsx({"Leads": worksheet_xml(rows)}, member_names={"Leads": "xl/worksheets/sheet1.bin"})


def sheet_listed_again(times: int, *, same_id: bool = True, external: bool = False) -> bytes:
    """One worksheet that the workbook's list of sheets names `times` times, all by one
    relationship id or each by its own relationship to the same part: calamine read the
    part once per entry (3,000 entries made one lead row 3,000 leads)."""
    titles = [f"S{i}" for i in range(times)]
    sheets = {title: leads_sheet(LEAD) for title in titles}
    data = xlsx(sheets, targets=dict.fromkeys(titles, "worksheets/sheet1.xml"))
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(data))
    with source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "xl/workbook.xml" and same_id:
                content = re.sub(rb'r:id="rId[0-9]+"', b'r:id="rId1"', content)
            if member.filename == "xl/_rels/workbook.xml.rels" and external:
                # calamine reads the target whatever TargetMode says
                content = content.replace(b'Id="rId1"', b'Id="rId1" TargetMode="External"')
            archive.writestr(member, content)
    return out.getvalue()


def shared_string_bomb(
    *,
    length: int = 32_000,
    uses: int = 1_999_960,
    width: int = 20,
    body: str = "<v>0</v>",
    short: bool = False,
) -> bytes:
    """One long shared string used in `uses` cells, `width` to a row: small packed, huge read.

    calamine copies the string into every cell that uses it. `body` is what each cell holds
    (calamine also reads the number written "+0", "&#48;", "000000000000", and takes the last
    of several values). With `short`, a one-letter string comes first, so index 1 is the
    long one.
    """

    def rows() -> Iterator[str]:
        yield text_row(1, HEADER)
        yield text_row(2, LEAD)
        left, number = uses, 3
        while left > 0:
            count = min(width, left)
            cells = "".join(
                f'<c r="{column_letter(i)}{number}" t="s">{body}</c>' for i in range(count)
            )
            yield f'<row r="{number}">{cells}</row>'
            left -= count
            number += 1

    strings = ["y", "x" * length] if short else ["x" * length]
    return xlsx({"Leads": worksheet_xml(rows())}, shared_strings=strings)


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"'
)


def _ods_row(values: Iterable[str], *, repeat_row: int = 1, repeat_last: int = 1) -> str:
    """A table row; its last cell repeated `repeat_last` times, the row `repeat_row` times."""
    values = list(values)
    cells = []
    for i, value in enumerate(values):
        repeat = repeat_last if i == len(values) - 1 else 1
        attribute = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
        cells.append(
            f'<table:table-cell office:value-type="string"{attribute}>'
            f"<text:p>{escape(value)}</text:p></table:table-cell>"
        )
    attribute = f' table:number-rows-repeated="{repeat_row}"' if repeat_row > 1 else ""
    return f"<table:table-row{attribute}>{''.join(cells)}</table:table-row>"


def opendocument(
    *, rows: int = 10_000, columns: int = 2_000, disguise: bool = True, name: str = "Leads"
) -> bytes:
    """An OpenDocument spreadsheet whose one lead is repeated `rows` times, with a supplier
    cell repeated `columns` times: a few hundred bytes that expand to rows x columns cells.

    With `disguise`, it carries a stray xl/workbook.xml so that it passes for an .xlsx at a
    glance (calamine, failing to open it as one, then reads it as OpenDocument).
    """
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODS_NS}>'
        f'<office:body><office:spreadsheet><table:table table:name="{escape(name)}">'
        + _ods_row((*HEADER, "note"))
        + _ods_row((*LEAD, "x"), repeat_row=rows, repeat_last=columns)
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("content.xml", content)
        archive.writestr(
            "META-INF/manifest.xml",
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
            'manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type='
            '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
        )
        if disguise:
            archive.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


def many_members(count: int = 20_000) -> bytes:
    """A workbook padded with `count` empty members (each costs memory to list)."""
    base = xlsx({"Leads": leads_sheet(LEAD)})
    out = io.BytesIO(base)
    with zipfile.ZipFile(out, "a") as archive:
        for i in range(count):
            archive.writestr(f"xl/media/pad{i}.txt", b"")
    return out.getvalue()


def long_names(*, sheet_chars: int = 300, header_chars: int = 300) -> bytes:
    """A sheet title and a supplier header longer than the 255 characters a column holds."""
    header = (*HEADER, "N" * header_chars)
    rows = (text_row(1, header), text_row(2, (*LEAD, "note")))
    return xlsx({"S" * sheet_chars: worksheet_xml(rows)})


def nul_in_cells() -> bytes:
    """NUL characters in cells, written as OOXML escapes (_x0000_) as Excel itself does."""
    rows = (
        text_row(1, (*HEADER, "Notes")),
        text_row(2, ("An_x0000_n", "Lee", "01/02/1990_x0000_", "a_x0000_")),
    )
    return xlsx({"Leads": worksheet_xml(rows)})


def wide_empty_supplier_columns(
    *, columns: int = 60, header_chars: int = 1_000, rows: int = 10_000
):
    """A CSV whose supplier columns are all empty under 1,000-character headers."""
    headers = [*HEADER, *(f"{i:02d}" + "h" * (header_chars - 2) for i in range(columns))]
    lines = [",".join(headers)]
    lines += [f"Ann{i},Lee,01/02/1990" + "," * columns for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()
