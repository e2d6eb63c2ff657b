"""Benchmark: the file reader on generated .xlsx, .xls and .ods workbooks and a CSV file.

No database.

Each format is read in a fresh process (peak RSS is per process) after the reading libraries
are imported, so the figure is what reading the file adds on top of them.

    python bench/reading.py                  # 10,000 rows
    python bench/reading.py -n 100000        # (no .xls: a worksheet holds 65,536 rows)

The .ods figure includes the memory-limited child process it is read in (whose memory is
not in the peak RSS shown).
"""

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADER = ["First Name", "Surname", "Date of Birth", "E-mail Address", "Mobile"]


def row(i: int) -> list[str]:
    return [f"Ann{i}", "Smith", f"{1 + i % 28:02d}/03/1990", f"a{i}@example.com", "07911 123456"]


def write_files(folder: Path, n: int) -> list[Path]:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Leads")
    sheet.append(HEADER)
    with open(folder / "leads.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(n):
            sheet.append(row(i))
            writer.writerow(row(i))
    workbook.save(folder / "leads.xlsx")
    # Written in a child: xlwt holds the whole workbook, and a child process starts with
    # its parent's peak RSS, which would hide what reading adds.
    subprocess.run(
        [sys.executable, __file__, "-n", str(n), "--write-more", str(folder)], check=True
    )
    kinds = ["xlsx", "xls", "ods", "csv"] if n < 65_536 else ["xlsx", "ods", "csv"]
    return [folder / f"leads.{kind}" for kind in kinds]


def write_more(folder: Path, n: int) -> None:
    rows = [HEADER] + [row(i) for i in range(n)]
    if len(rows) <= 65_536:  # an .xls worksheet holds no more
        _write_xls(folder / "leads.xls", rows)
    _write_ods(folder / "leads.ods", rows)


def _write_xls(path: Path, rows: list[list[str]]) -> None:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Leads")
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            sheet.write(r, c, value)
    book.save(str(path))


def _write_ods(path: Path, rows: list[list[str]]) -> None:
    from tests.workbook_files import ods

    path.write_bytes(ods({"Leads": rows}))


def read(path: Path, n: int) -> None:
    """Inspect then stream the file as an upload does; print one line."""
    import openpyxl  # noqa: F401  (the libraries' own memory is not the reader's)
    import python_calamine  # noqa: F401

    from batches.reading import inspect_file, iter_rows

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    before = peak_mb()
    started = time.perf_counter()
    with open(path, "rb") as handle:
        summary = inspect_file(handle, name=path.name, max_rows=n, max_bytes=1 << 30)
        rows = sum(1 for _ in iter_rows(handle, name=path.name, summary=summary))
    seconds = time.perf_counter() - started
    print(
        f"{path.suffix[1:]:5} {path.stat().st_size / 1e6:6.2f} MB  {rows:,} rows in "
        f"{seconds:.2f} s ({rows / seconds:,.0f} rows/s)  peak RSS +{peak_mb() - before:.1f} MB"
        f" over {before:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rows", type=int, default=10_000)
    parser.add_argument("--read", help=argparse.SUPPRESS)  # the child process' part
    parser.add_argument("--write-more", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_more:
        write_more(Path(args.write_more), args.rows)
        return
    if args.read:
        read(Path(args.read), args.rows)
        return
    with tempfile.TemporaryDirectory() as folder:
        for path in write_files(Path(folder), args.rows):
            subprocess.run(
                [sys.executable, __file__, "-n", str(args.rows), "--read", str(path)], check=True
            )


if __name__ == "__main__":
    main()
