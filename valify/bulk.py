"""Bulk writes that scale: COPY on PostgreSQL, multi-row statements elsewhere."""

import logging
from collections.abc import Iterable, Sequence

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


# COPY's text format: backslash escapes for the characters that delimit fields and rows.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_BLOCK = 1000


def _copy_escape(value: str) -> str:
    # translate() is slow per call; most values have nothing to escape.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows of Python values into a table (PostgreSQL only); return how many.

    psycopg's compiled row formatter adapts the values (half the cost of formatting them
    here). The caller must not run other queries on the connection while `rows` is consumed.
    """
    count = 0
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(row)
            count += 1
    return count


def copy_lines(table: str, columns: Sequence[str], lines: Iterable[str]) -> int:
    """COPY lines already in COPY's text format (see copy_text); return how many."""
    count = 0
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    block: list[str] = []
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for line in lines:
            block.append(line)
            if len(block) >= _COPY_BLOCK:
                copy.write(("\n".join(block) + "\n").encode("utf-8"))
                count += len(block)
                block = []
        if block:
            copy.write(("\n".join(block) + "\n").encode("utf-8"))
            count += len(block)
    return count


def copy_text(values: Sequence[str]) -> str:
    """Text values as tab-separated COPY fields, escaped only when one needs it."""
    line = "\t".join(values)
    if "\\" in line or "\n" in line or "\r" in line or line.count("\t") != len(values) - 1:
        return "\t".join([_copy_escape(value) for value in values])
    return line


def relax_commit_durability() -> None:
    """Let this transaction's commit return before its WAL reaches disk (PostgreSQL).

    Only for work that is redone when lost: after a server crash a chunk whose commit was
    lost is pending again, all its writes gone together, and the reconciler re-drives it.
    """
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def analyze(table: str, columns: Sequence[str]) -> None:
    """Refresh the planner's statistics on a table (PostgreSQL; a no-op elsewhere).

    A table that has just received many rows in one go has no statistics for them, and the
    planner then picks plans that scan every new row for each small range it is asked for.
    Only an optimisation: it never waits for a lock (another ANALYZE or VACUUM is doing
    the work) and never fails the caller.
    """
    if not is_postgresql():
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {table} ({', '.join(columns)})")
    except DatabaseError:
        logger.warning("analyze.failed", exc_info=True, extra={"table": table})


def update_from_rows(
    table: str,
    *,
    key: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence],
    extra_set: str = "",
    extra_params: Sequence = (),
    where: str = "",
) -> list:
    """UPDATE table rows from (key, *values) tuples; return the keys of the rows changed.

    `columns` are (name, SQL type) pairs for the values after the key. On PostgreSQL the rows
    are COPYed into a temporary table and joined, one statement whatever their number;
    elsewhere one UPDATE per row. `where` filters on `t.` columns, so the keys returned are
    those this very statement changed (a concurrent writer's rows are not among them).
    """
    if not rows:
        return []
    names = [name for name, _ in columns]
    extra = f", {extra_set}" if extra_set else ""
    condition = f" AND {where}" if where else ""
    if is_postgresql():
        temp = f"_upd_{table}"
        defs = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
        sets = ", ".join(f"{name} = v.{name}" for name in names)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {temp} (k bigint, {defs}) ON COMMIT DELETE ROWS"
            )
            cursor.execute(f"DELETE FROM {temp}")
        copy_rows(temp, ["k", *names], rows)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET {sets}{extra} "
                f"FROM {temp} AS v WHERE t.{key} = v.k{condition} RETURNING t.{key}",
                list(extra_params),
            )
            return [changed for (changed,) in cursor.fetchall()]
    sets = ", ".join(f"{name} = %s" for name in names)
    sql = f"UPDATE {table} AS t SET {sets}{extra} WHERE t.{key} = %s{condition}"
    changed = []
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(sql, [*row[1:], *extra_params, row[0]])
            if cursor.rowcount:
                changed.append(row[0])
    return changed
