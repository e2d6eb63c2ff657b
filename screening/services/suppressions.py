"""Importing suppressions: CSV or one value per line, stored as keyed hashes only."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from leads.hashing import lead_key_hashes
from screening.models import Suppression
from screening.values import KINDS, detect_value, normal_value, suppression_key
from valify.bulk import analyze

logger = logging.getLogger(__name__)

BAD_LINES_REPORTED = 100
_BLOCK = 5_000
# Header cells naming a kind (compared lower-cased, without spaces, hyphens, underscores).
_HEADER_KINDS = {
    "email": "email",
    "emailaddress": "email",
    "phone": "phone",
    "phonenumber": "phone",
    "mobile": "phone",
    "telephone": "phone",
    "leadid": "lead_id",
    "id": "lead_id",
    "postcode": "postcode",
    "postalcode": "postcode",
}
_HEADER_NOISE = re.compile(r"[\s_\-]")


class SuppressionFileError(ValueError):
    """The file cannot be read at all (not text); nothing was stored."""


@dataclass
class SuppressionImport:
    added: int = 0
    values: int = 0  # distinct values read (added + already suppressed)
    kinds: Counter = field(default_factory=Counter)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong)
    bad_count: int = 0

    def bad(self, line: int, reason: str) -> None:
        self.bad_count += 1
        if len(self.bad_lines) < BAD_LINES_REPORTED:
            self.bad_lines.append((line, reason))


def _text(stream: BinaryIO, name: str) -> io.TextIOBase:
    """The file as text: UTF-8 (with or without BOM), else Windows-1252."""
    head = stream.read(65536)
    stream.seek(0)
    if b"\x00" in head:
        raise SuppressionFileError(f"{name}: not a text file (it contains NUL bytes).")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "cp1252"
    return io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")


def _header_kinds(cells: list[str]) -> dict[int, str]:
    """{column index: kind} when the first row names kinds, else {}."""
    found = {}
    for index, cell in enumerate(cells):
        kind = _HEADER_KINDS.get(_HEADER_NOISE.sub("", cell.lower()))
        if kind:
            found[index] = kind
    return found


def _values(text: io.TextIOBase, report: SuppressionImport, region: str) -> Iterator[tuple]:
    """(kind, normal form) of each value, bad ones reported by line (and column)."""
    first = text.readline()
    delimiter = max(",;\t|", key=first.count) if any(d in first for d in ",;\t|") else ","
    rows = csv.reader(itertools.chain([first], text), delimiter=delimiter)
    columns = {}
    for cells in rows:
        line = rows.line_num  # the file's line (a quoted cell may span several)
        if line == 1 and (columns := _header_kinds(cells)):
            names = {index: cells[index].strip() for index in columns}
            continue
        if not cells or cells[0].lstrip().startswith("#"):
            continue
        if columns:
            for index, kind in columns.items():
                value = cells[index].strip() if index < len(cells) else ""
                if not value:
                    continue
                normal = normal_value(kind, value, region=region)
                if normal is None:
                    report.bad(line, f"column {names[index]!r}: not a valid {kind}")
                else:
                    yield kind, normal
            continue
        for number, cell in enumerate(cells, start=1):
            if not cell.strip():
                continue
            found = detect_value(cell, region=region)
            if found is None:
                where = f"column {number}: " if len(cells) > 1 else ""
                report.bad(line, f"{where}not an e-mail, phone, lead id or postcode")
            else:
                yield found


def suppressions_import(*, stream: BinaryIO, name: str, customer=None) -> SuppressionImport:
    """Add the file's values to the suppression list of `customer` (None: every customer).

    Values already suppressed in that scope are skipped; bad values are reported and skipped.
    All of the file is stored or, on an error, none of it. Only keyed hashes are stored.
    """
    report = SuppressionImport()
    region = settings.PHONE_DEFAULT_REGION
    keys: dict[str, str] = {}
    for kind, normal in _values(_text(stream, name), report, region):
        keys.setdefault(suppression_key(kind, normal), kind)
    report.values = len(keys)
    report.kinds = Counter(keys.values())
    hashes = lead_key_hashes(keys)
    scope = Suppression.objects.filter(customer=customer)
    with transaction.atomic():
        before = scope.count()
        items = iter(keys.items())
        while block := list(itertools.islice(items, _BLOCK)):
            Suppression.objects.bulk_create(
                [
                    Suppression(
                        customer=customer, kind=kind, value_hash=hashes[key], source=name[:255]
                    )
                    for key, kind in block
                ],
                ignore_conflicts=True,
            )
        report.added = scope.count() - before
    analyze(Suppression._meta.db_table, ("customer_id", "value_hash"))
    logger.info(
        "suppressions.imported",
        extra={
            "customer": getattr(customer, "slug", None),
            "added": report.added,
            "bad_lines": report.bad_count,
        },
    )
    return report


__all__ = ["KINDS", "SuppressionFileError", "SuppressionImport", "suppressions_import"]
