"""Loading the licensed TPS/CTPS file: streamed, bulk inserted, swapped in atomically."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction

from screening.models import TpsList, TpsNumber
from screening.values import tps_number
from valify.bulk import analyze, insert_rows

logger = logging.getLogger(__name__)

# Bad lines kept for the report (all are counted).
BAD_LINES_REPORTED = 100
# Numbers written per transaction: bounded work per commit, and SQLite's one writer is
# never held for the whole load.
_BLOCK = 50_000


class TpsFileEmpty(Exception):
    """The file held no number: loading it would screen nobody, so the current list stays."""

    def __init__(self, message: str, report: TpsImport):
        super().__init__(message)
        self.report = report


@dataclass
class TpsImport:
    tps_list: TpsList
    lines: int = 0
    numbers: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, start)
    bad_count: int = 0


def tps_file_date(path: Path) -> datetime:
    """The file's modification time, in UTC to the second."""
    return datetime.fromtimestamp(int(os.stat(path).st_mtime), tz=UTC)


def _numbers(lines: Iterable[bytes], report: TpsImport) -> Iterator[int]:
    """The numbers of the register's lines; blanks and ``#`` comments skipped."""
    for index, raw in enumerate(lines, start=1):
        report.lines = index
        try:
            text = raw.decode("utf-8-sig" if index == 1 else "utf-8").strip()
        except UnicodeDecodeError:
            text = raw.decode("latin-1").strip()
        if not text or text.startswith("#"):
            continue
        number = tps_number(text)
        if number is None:
            report.bad_count += 1
            if len(report.bad_lines) < BAD_LINES_REPORTED:
                report.bad_lines.append((index, text[:40]))
            continue
        yield number


def tps_import(*, path: Path, file_date: datetime | None = None) -> TpsImport:
    """Load the register at `path` as the current TPS list, replacing the previous one.

    The numbers go in under a new list, block by block; only when all are in does it become
    current, the old list dropped in the same transaction, so screening sees all of one list
    or all of the other, and a failed or interrupted load leaves the previous list in place
    (the next load clears what it left). Bad lines are reported by line number and skipped.
    A file without a single number raises TpsFileEmpty (nothing changes). Run one load at
    a time.
    """
    path = Path(path)
    date = file_date or tps_file_date(path)
    with path.open("rb") as lines:
        new = TpsList.objects.create(source=path.name[:255], file_date=date)
        report = TpsImport(tps_list=new)
        try:
            numbers = _numbers(lines, report)
            while block := list(itertools.islice(numbers, _BLOCK)):
                with transaction.atomic():
                    report.numbers += insert_rows(
                        TpsNumber, ("tps_list_id", "number"), [(new.pk, n) for n in block]
                    )
            if not report.numbers:
                # A wrong or truncated file would otherwise say "not on the TPS" for everyone.
                raise TpsFileEmpty(
                    f"{path.name}: no UK phone number in {report.lines} lines "
                    f"({report.bad_count} bad); the current list is kept.",
                    report,
                )
            with transaction.atomic():
                previous = TpsList.objects.exclude(pk=new.pk)
                TpsNumber.objects.filter(tps_list__in=previous).delete()
                previous.delete()
                new.numbers, new.bad_lines, new.is_current = report.numbers, report.bad_count, True
                new.save(update_fields=["numbers", "bad_lines", "is_current"])
        except BaseException:
            _discard(new)
            raise
    # Millions of new rows: without fresh statistics a chunk's look-up scans them.
    analyze(TpsNumber._meta.db_table, ("tps_list_id", "number"))
    logger.info(
        "tps.imported",
        extra={"source": new.source, "numbers": report.numbers, "bad_lines": report.bad_count},
    )
    return report


def _discard(tps_list: TpsList) -> None:
    """Drop a load that did not finish; should that fail too, the next load clears it."""
    try:
        TpsNumber.objects.filter(tps_list=tps_list).delete()
        tps_list.delete()
    except Exception:
        logger.warning("tps.discard_failed", extra={"tps_list": tps_list.pk}, exc_info=True)
