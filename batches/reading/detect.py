"""Tell what a file is from its first bytes: workbook or text, encoding, delimiter."""

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass

import charset_normalizer

from batches.reading.errors import MALFORMED_FILE, NOT_TEXT, FileRefused

SAMPLE_BYTES = 64 * 1024
ZIP_MAGIC = b"PK\x03\x04"
DELIMITERS = ",;\t|"
# csv.Sniffer's regexes are quadratic: a crafted 64 KB header line takes it 50 s, 2 KB 50 ms.
SNIFF_CHARS = 2048

_BOMS = (  # longest first: a UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BINARY_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\x1f\x8b": "a gzip archive",
    b"PK\x05\x06": "an empty zip archive",
}
_WORKBOOK_EXTENSIONS = (".xls", ".xlsx", ".xlsm", ".ods", ".xlsb")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Western letters (é, ñ, ł: Latin-1 Supplement and Latin Extended-A) and punctuation (’ – “ …)
# as UTF-8 writes them. Windows-1252 text almost never holds these pairs ("Ã©", "â€™" are how
# it shows UTF-8), where other byte pairs of it can pass for UTF-8 ("É’" for "ɒ").
_UTF8_WESTERN = re.compile(rb"[\xc2-\xc5][\x80-\xbf]|\xe2\x80[\x80-\xbf]")
# À-ÿ and Latin Extended-A, and the punctuation and signs UTF-8 text carries (’ “ ” – … € £):
# pairs a Windows-1252 file holds only as mojibake itself ("â€™", "Â£").
_UTF8_LETTER = re.compile(
    rb"[\xc3-\xc5][\x80-\xbf]|\xc2[\xa0-\xbf]|\xe2\x80[\x80-\xbf]|\xe2\x82\xac"
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class TextGuess:
    encoding: str  # a Python codec name
    tentative: bool  # True when only ASCII was seen: UTF-8 may yet turn out wrong
    sample: str  # the decoded sample, for sniffing


def read_sample(fileobj) -> bytes:
    """Read up to SAMPLE_BYTES from the start (read() may return short)."""
    fileobj.seek(0)
    parts, wanted = [], SAMPLE_BYTES
    while wanted > 0:
        chunk = fileobj.read(wanted)
        if not chunk:
            break
        parts.append(chunk)
        wanted -= len(chunk)
    return b"".join(parts)


def refuse_known_binary(sample: bytes, *, file_name: str) -> None:
    """Refuse formats recognised by their magic bytes that are neither text nor a workbook."""
    for magic, what in _BINARY_MAGIC.items():
        if sample.startswith(magic):
            raise FileRefused(
                NOT_TEXT,
                f"this is {what}, not a CSV file or a workbook (.xlsx, .xls, .ods)",
                file_name=file_name,
            )


# Bytes no text file holds (tab, line breaks and form feed aside).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c")


def refuse_disguised_text(sample: bytes, file_name: str) -> None:
    """Refuse a file named as a workbook that is none: CRMs export HTML tables or CSV as
    ".xls"; anything else (a damaged or renamed file) is said to be neither."""
    extension = os.path.splitext(file_name)[1].lower()
    if extension not in _WORKBOOK_EXTENSIONS:
        return
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if _bom_or_utf16(sample) is None and controls > len(sample) // 100:
        detail = (
            f"this {extension} is not a workbook, nor a CSV or HTML export named like one: "
            "it is damaged or another kind of file; open it in Excel and save it as .xlsx or .csv"
        )
    else:
        detail = (
            f"this {extension} is an HTML or CSV export, not a workbook: save it as .csv or .xlsx"
        )
    raise FileRefused(MALFORMED_FILE, detail, file_name=file_name)


def guess_encoding(sample: bytes, *, complete: bool, file_name: str) -> TextGuess:
    """BOM, then strict UTF-8, then a Western or charset-normalizer guess; refuse binary."""
    encoding, tentative = _bom_or_utf16(sample), False
    if encoding is None and _decodes(sample, "utf-8", complete):
        encoding, tentative = "utf-8", sample.isascii() and not complete
    if encoding is None and _mostly_utf8(sample):
        # UTF-8 text with bytes that are not (rows pasted in from a Windows-1252 export):
        # read as UTF-8, it is refused naming the first such row. Read as Windows-1252,
        # every UTF-8 letter would become two ("José" as "JosÃ©") and pass as valid.
        encoding = "utf-8"
    if encoding is None:
        encoding = _legacy_encoding(sample, complete)
    if encoding is None:
        raise FileRefused(
            NOT_TEXT, "binary data, not text in any known encoding", file_name=file_name
        )
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, complete)
    controls = len(_CONTROL.findall(text))
    if controls > max(8, len(text) // 100):
        raise FileRefused(
            NOT_TEXT, "binary data (control characters), not a text file", file_name=file_name
        )
    return TextGuess(codecs.lookup(encoding).name, tentative, text.lstrip("\ufeff"))


def _bom_or_utf16(sample: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if b"\x00" in sample and len(sample) >= 4:
        # UTF-16 without a BOM: ASCII text puts a NUL in every other byte.
        half = len(sample) // 2
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > half * 0.3 and even < half * 0.02:
            return "utf-16-le"
        if even > half * 0.3 and odd < half * 0.02:
            return "utf-16-be"
    return None


def _mostly_utf8(sample: bytes) -> bool:
    """Whether the sample's non-ASCII bytes are mostly Western text written in UTF-8 (two
    such letters or marks at least)."""
    high, found, utf8 = _utf8_counts(sample)
    return found >= 2 and utf8 * 2 > high


def _utf8_counts(data: bytes) -> tuple[int, int, int]:
    """Non-ASCII bytes; UTF-8 Western letters and marks, and the bytes they take."""
    high = len(data) - len(data.decode("latin-1").encode("ascii", errors="ignore"))
    found = _UTF8_WESTERN.findall(data)
    return high, len(found), sum(map(len, found))


def utf8_before_its_error(fileobj) -> bool:
    """Whether the file reads as UTF-8 with accented letters or typographic punctuation
    (_UTF8_LETTER) before its first byte that is not UTF-8: text in UTF-8 with rows pasted
    in from elsewhere. Other pairs that happen to be UTF-8 (Windows-1252's "É’" or "É" and
    a no-break space) are taken for Windows-1252."""
    fileobj.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    held = b""  # the bytes of a letter cut by the end of the last piece
    seen = False
    while chunk := fileobj.read(1024 * 1024):
        data = held + chunk  # what the decoder reads, and its error's offsets count from
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            return seen or bool(_UTF8_LETTER.search(data, 0, error.start))
        held = decoder.getstate()[0]
        seen = seen or bool(_UTF8_LETTER.search(data, 0, len(data) - len(held)))
    return False


def mostly_utf8_file(fileobj) -> bool:
    """_mostly_utf8 over the whole file, read in pieces: whether text found undecodable
    past the sample is UTF-8 with some bytes that are not, rather than Windows-1252."""
    fileobj.seek(0)
    high = found = utf8 = 0
    carry = b""
    while chunk := fileobj.read(1024 * 1024):
        data = carry + chunk
        cut = len(data)  # a piece's last three bytes wait for the next if they may start a letter
        while cut > len(data) - 3 and data[cut - 1] >= 0x80:
            cut -= 1
        data, carry = data[:cut], data[cut:]
        counts = _utf8_counts(data)
        high, found, utf8 = high + counts[0], found + counts[1], utf8 + counts[2]
    counts = _utf8_counts(carry)
    high, found, utf8 = high + counts[0], found + counts[1], utf8 + counts[2]
    return found >= 2 and utf8 * 2 > high


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, complete)
    except UnicodeDecodeError:
        return False
    return True


def _legacy_encoding(sample: bytes, complete: bool) -> str | None:
    # charset-normalizer misreads short Western samples (cp1252 "£" as cp1250 "Ł", names
    # as johab or big5), so Windows-1252 wins whenever it reads as mostly-ASCII Latin text.
    if _decodes(sample, "cp1252", complete):
        text = sample.decode("cp1252", errors="ignore")
        letters = sum(ch.isalpha() for ch in text)
        accented = sum(ch.isalpha() and not ch.isascii() for ch in text)
        if letters and accented <= letters * 0.25:
            return "cp1252"
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return None
    return best.encoding


def sniff_delimiter(text: str) -> str:
    """The delimiter of the first non-blank line: csv.Sniffer, else the most frequent one."""
    header = next((line for line in _LINE_BREAK.split(text) if line.strip()), "")[:SNIFF_CHARS]
    try:
        found = csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and found in header:
        return found
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def file_size(fileobj) -> int:
    """Size in bytes, by seeking to the end (the file object must be seekable)."""
    size = fileobj.seek(0, io.SEEK_END)
    if size is None:  # some old file-likes return nothing from seek()
        size = fileobj.tell()
    fileobj.seek(0)
    return size
