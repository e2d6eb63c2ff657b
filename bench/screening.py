"""Benchmark: loading a TPS register and screening chunks against it, on PostgreSQL.

Creates a scratch database on the server of --pg (dropped afterwards), writes an N-line
register file (national and +44 forms, one bad line in 1,000), loads it with the service
`import_tps` runs (twice: the second replaces the first), imports M suppressions, then times
the two reads one chunk makes: its UK numbers against the register (one query) and its leads'
keys against the suppression list (one query, hashes included).

    python bench/screening.py                     # 1,000,000 numbers, 100,000 suppressions
    python bench/screening.py -n 5000000 --chunk 500
"""

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_django  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--numbers", type=int, default=1_000_000)
    parser.add_argument("-m", "--suppressions", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=500, help="leads per chunk (CHUNK_SIZE)")
    parser.add_argument("--runs", type=int, default=50, help="chunks screened")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()

    with (
        scratch_django(args.pg, "screening"),
        tempfile.TemporaryDirectory(prefix="valify-bench-") as scratch,
    ):
        run(args, Path(scratch))


def register_line(i: int) -> str:
    if i % 1000 == 999:
        return "not a number\n"
    national = f"7{400_000_000 + i * 7:09d}"
    return f"0{national[:4]} {national[4:]}\n" if i % 2 else f"+44 {national}\n"


def run(args, scratch: Path) -> None:
    from screening.selectors import suppressed_keys, tps_listed
    from screening.services import suppressions_import, tps_import

    path = scratch / "tps.txt"
    with path.open("w") as out:
        out.writelines(register_line(i) for i in range(args.numbers))
    size_mb = path.stat().st_size / 1e6
    for label in ("first load", "replacing it"):
        started = time.perf_counter()
        report = tps_import(path=path)
        took = time.perf_counter() - started
        print(
            f"import_tps, {label}: {args.numbers:,} lines ({size_mb:.0f} MB), "
            f"{report.numbers:,} numbers, {report.bad_count:,} bad: {took:.1f} s, "
            f"{args.numbers / took:,.0f} lines/s"
        )

    values = "".join(f"person{i}@example.com\n" for i in range(args.suppressions))
    started = time.perf_counter()
    suppressions_import(stream=io.BytesIO(values.encode()), name="bench.csv")
    took = time.perf_counter() - started
    print(f"import_suppressions: {args.suppressions:,} e-mails: {took:.1f} s")

    tps_times, suppression_times = [], []
    for r in range(args.runs):
        base = r * args.chunk
        numbers = [int(f"447{400_000_000 + (base + i) * 5:09d}") for i in range(args.chunk)]
        keys = [
            key
            for i in range(args.chunk)
            for key in (
                f"email:person{(base + i) * 3}@example.com",
                f"phone:+{numbers[i]}",
                f"lead_id:jane.doe{base + i}.01011990",
            )
        ]
        started = time.perf_counter()
        answer = tps_listed(numbers)
        tps_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        suppressed_keys(customer_pk=None, keys=keys)
        suppression_times.append(time.perf_counter() - started)
    print(
        f"per {args.chunk}-lead chunk ({args.runs} chunks): TPS look-up median "
        f"{statistics.median(tps_times) * 1000:.1f} ms ({len(answer.listed)} listed in the "
        f"last), suppression look-up of {len(keys)} keys median "
        f"{statistics.median(suppression_times) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
