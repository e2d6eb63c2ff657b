"""Bulk writes that scale: COPY on PostgreSQL, multi-row statements elsewhere."""

from collections.abc import Iterable, Sequence

from django.db import connection


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows into a table (PostgreSQL only); return how many were written.

    The caller must not run other queries on the connection while `rows` is consumed.
    """
    count = 0
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def update_from_rows(
    table: str,
    *,
    key: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence],
    extra_set: str = "",
    extra_params: Sequence = (),
    where: str = "",
) -> int:
    """UPDATE table rows from (key, *values) tuples; return how many rows changed.

    `columns` are (name, SQL type) pairs for the values after the key. On PostgreSQL the rows
    are COPYed into a temporary table and joined, one statement whatever their number;
    elsewhere one UPDATE per row runs through executemany. `where` filters on `t.` columns.
    """
    if not rows:
        return 0
    names = [name for name, _ in columns]
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
                f"UPDATE {table} AS t SET {sets}{', ' + extra_set if extra_set else ''} "
                f"FROM {temp} AS v WHERE t.{key} = v.k{' AND ' + where if where else ''}",
                list(extra_params),
            )
            return cursor.rowcount
    sets = ", ".join(f"{name} = %s" for name in names)
    sql = (
        f"UPDATE {table} AS t SET {sets}{', ' + extra_set if extra_set else ''} "
        f"WHERE t.{key} = %s{' AND ' + where if where else ''}"
    )
    params = [[*row[1:], *extra_params, row[0]] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount
