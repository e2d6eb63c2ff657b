"""Benchmark: writing a batch's deliveries into a table that already holds many, by id kind.

Creates a scratch database on the server of --pg (dropped afterwards), fills the delivery
table with --kept old deliveries, then writes batches of --leads deliveries by COPY in
24 transactions (as a batch's chunks do), taking turns: ids made by new_message_ids (time
first) and wholly random ids of the same shape (what they were before). Each write runs
after a CHECKPOINT, as one does at some point in production; it prints the time and the WAL
written. Random ids land on random pages of the unique index on msg_id, and after a
checkpoint each page's first change writes the whole page to the WAL.

    python bench/delivery_ids.py                          # 3,000,000 kept, 92,000 written
    python bench/delivery_ids.py --kept 10000000 --rounds 5
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_django  # noqa: E402

CHUNKS = 24
COLUMNS = (
    "msg_id, batch_id, lead_id, lead_key, payload, status, endpoint, due_at, next_attempt_at, "
    "attempts, last_error, created_at, updated_at"
)

COPY_SQL = f"COPY webhooks_delivery ({COLUMNS}) FROM STDIN"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kept", type=int, default=3_000_000, help="deliveries already held")
    parser.add_argument("-n", "--leads", type=int, default=92_000, help="deliveries written")
    parser.add_argument("--rounds", type=int, default=3, help="writes of each kind, in turn")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    with scratch_django(args.pg, "delivery_ids"):
        run(args)


def random_ids(count: int) -> list[str]:
    digits = os.urandom(16 * count).hex()
    return ["msg_" + digits[start : start + 32] for start in range(0, 32 * count, 32)]


def run(args) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from webhooks.signing import new_message_ids

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            f"INSERT INTO webhooks_delivery ({COLUMNS}) "
            "SELECT 'msg_' || md5(random()::text || g::text), g / 100000 + 1, g, 'x', '{}', "
            "'delivered', '', now(), now(), 1, '', now(), now() "
            "FROM generate_series(1, %s) g",
            [args.kept],
        )
        cursor.execute("VACUUM ANALYZE webhooks_delivery")
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('delivery_msg_id_unique'))")
        filled = time.perf_counter() - started
        index = cursor.fetchone()[0]
        print(f"kept         {args.kept:,} deliveries ({filled:.1f} s), msg_id index {index}")
    now = timezone.now()
    payload = '{"event":"lead.validated"}'
    next_pk = args.kept + 1
    per_chunk = -(-args.leads // CHUNKS)
    figures = {"time-ordered": [], "random": []}
    for round_ in range(args.rounds):
        kinds = [("random", random_ids), ("time-ordered", new_message_ids)]
        for kind, make in kinds if round_ % 2 == 0 else kinds[::-1]:  # each first in turn
            with connection.cursor() as cursor:
                cursor.execute("CHECKPOINT")
                cursor.execute("SELECT pg_current_wal_lsn()")
                lsn = cursor.fetchone()[0]
                started = time.perf_counter()
                for first in range(0, args.leads, per_chunk):
                    count = min(per_chunk, args.leads - first)
                    with (
                        transaction.atomic(),
                        cursor.cursor.copy(
                            f"COPY webhooks_delivery ({COLUMNS}) FROM STDIN"
                        ) as copy,
                    ):
                        for msg_id in make(count):
                            copy.write_row(
                                (msg_id, 999_999, next_pk, "x", payload, "scheduled", "",
                                 now, now, 0, "", now, now)
                            )  # fmt: skip
                            next_pk += 1
                seconds = time.perf_counter() - started
                cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [lsn])
                wal_mb = float(cursor.fetchone()[0]) / 1e6
            figures[kind].append((seconds, wal_mb))
            print(f"round {round_ + 1}  {kind:<12}  {seconds:5.2f} s  WAL {wal_mb:6.1f} MB")
    print(f"--- {args.leads:,} deliveries written into {args.kept:,}, medians of {args.rounds}")
    for kind, runs in figures.items():
        seconds = statistics.median(s for s, _ in runs)
        wal = statistics.median(w for _, w in runs)
        print(f"{kind:<21} {seconds:5.2f} s   WAL {wal:6.1f} MB")


if __name__ == "__main__":
    main()
