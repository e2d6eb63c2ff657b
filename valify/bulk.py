"""The one seam between PostgreSQL and SQLite: bulk writes, the database's clock, tuning.

Callers write portable SQL against the helpers here; only this module (and the delivery
claim, whose SKIP LOCKED has no SQLite counterpart) asks which database it is talking to.
PostgreSQL gets COPY and statement-level tricks; SQLite, used by the embedded defaults and
the unit tests, gets the same statements fed row by row.
"""

import logging
import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, models, transaction
from django.db.models import Count, F, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Ceil, Floor, RowNumber
from django.utils import timezone

logger = logging.getLogger(__name__)

# Rows per multi-row statement on SQLite (its default limit is 32,766 parameters).
_SQLITE_BLOCK = 500


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def json_text_column_type(connection) -> str | None:
    """The type of a column holding JSON as text (valify.fields): PostgreSQL's `json`, which
    checks the text and keeps it; None elsewhere (the JSONField's own type)."""
    return "json" if connection.vendor == "postgresql" else None


def _adapter(sql_type: str):
    """How a value of this SQL type is passed to SQLite (PostgreSQL adapts it itself)."""
    ops = connection.ops
    if sql_type == "timestamptz":
        return ops.adapt_datetimefield_value
    if sql_type == "date":
        return ops.adapt_datefield_value
    if sql_type == "uuid":
        return lambda value: None if value is None else value.hex
    return None


def _sqlite_rows(sql_types: Sequence[str], rows: Iterable[Sequence]) -> Iterable[list]:
    adapters = [_adapter(sql_type) for sql_type in sql_types]
    if not any(adapters):
        yield from (list(row) for row in rows)
        return
    pairs = list(enumerate(adapters))
    for row in rows:
        values = list(row)
        for index, adapt in pairs:
            if adapt is not None:
                values[index] = adapt(values[index])
        yield values


def _sql_type(field: models.Field) -> str:
    if isinstance(field, models.DateTimeField):
        return "timestamptz"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.UUIDField):
        return "uuid"
    return "text"


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert rows of Python values into a model's table in bulk; return how many.

    JSON columns take their value already encoded (a str). PostgreSQL reads the rows by COPY
    through psycopg's compiled row formatter; elsewhere they go in by multi-row INSERTs.
    The caller must not run other queries on the connection while `rows` is consumed.
    """
    table = model._meta.db_table
    names = ", ".join(columns)
    count = 0
    if is_postgresql():
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            write_row = copy.write_row
            for row in rows:
                write_row(row)
                count += 1
        return count
    fields = {field.column: field for field in model._meta.concrete_fields}
    sql_types = [_sql_type(fields[column]) for column in columns]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    block: list = []
    with connection.cursor() as cursor:
        for values in _sqlite_rows(sql_types, rows):
            block.append(values)
            if len(block) >= _SQLITE_BLOCK:
                count += _insert_block(cursor, table, names, placeholders, block)
                block = []
        if block:
            count += _insert_block(cursor, table, names, placeholders, block)
    return count


def _insert_block(cursor, table: str, names: str, placeholders: str, block: list) -> int:
    values = ", ".join([placeholders] * len(block))
    cursor.execute(
        f"INSERT INTO {table} ({names}) VALUES {values}", [v for row in block for v in row]
    )
    return len(block)


def values_table(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence]) -> str:
    """Fill a temporary table with `rows` of (name, SQL type) columns; return its name.

    Portable statements then join it (`UPDATE ... FROM`, `INSERT ... SELECT`). Its rows last
    until the end of the transaction on PostgreSQL, until the next call on SQLite: call it
    inside `transaction.atomic()`.
    """
    defs = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
    temp = f"_values_{zlib.crc32(defs.encode()):08x}"
    names = [name for name, _ in columns]
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ({defs}) ON COMMIT DELETE ROWS")
            cursor.execute(f"DELETE FROM {temp}")
            with cursor.cursor.copy(f"COPY {temp} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return temp
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ({defs})")
        cursor.execute(f"DELETE FROM {temp}")
        placeholders = ", ".join(["%s"] * len(names))
        cursor.executemany(
            f"INSERT INTO {temp} ({', '.join(names)}) VALUES ({placeholders})",
            list(_sqlite_rows([sql_type for _, sql_type in columns], rows)),
        )
    return temp


def update_from_rows(
    table: str,
    *,
    key: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence],
    sets: dict[str, str] | None = None,
    extra_set: str = "",
    extra_params: Sequence = (),
    where: str = "",
    where_params: Sequence = (),
    returning: Sequence[str] = (),
) -> list:
    """UPDATE table rows from (key, *values) tuples; return the keys of the rows changed.

    `columns` are (name, SQL type) pairs for the values after the key; each sets the column
    of that name to `v.<name>` unless `sets` gives another expression for it. One statement
    joins the values table, whatever the number of rows. `where` filters on `t.` columns,
    so the keys returned are those this very statement changed (a concurrent writer's rows
    are not among them). With ``returning`` (expressions of the updated row's unqualified
    columns), each row changed is the tuple (key, *those values) instead, saving a read.
    """
    if not rows:
        return []
    sets = sets or {}
    assignments = ", ".join(sets.get(name, f"{name} = v.{name}") for name, _ in columns)
    extra = f", {extra_set}" if extra_set else ""
    condition = f" AND {where}" if where else ""
    with transaction.atomic(savepoint=False):
        temp = values_table([("k", "bigint"), *columns], rows)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments}{extra} "
                f"FROM {temp} AS v WHERE t.{key} = v.k{condition} "
                f"RETURNING {', '.join([key, *returning])}",
                [*extra_params, *where_params],
            )
            if returning:
                return [tuple(row) for row in cursor.fetchall()]
            return [changed for (changed,) in cursor.fetchall()]


def relax_commit_durability() -> None:
    """Let this transaction's commit return before its WAL reaches disk (PostgreSQL).

    Only for work that is redone when lost: after a server crash a chunk whose commit was
    lost is pending again, all its writes gone together, and the reconciler re-drives it.
    """
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def serialise(key: int) -> None:
    """Wait for, then hold until this transaction ends, the lock named ``key``.

    On PostgreSQL an advisory lock; SQLite's transactions are IMMEDIATE (settings), so a
    writing transaction holds the database's one write lock from its start already.
    """
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


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


def database_now() -> datetime:
    """The database's clock now (Python's on SQLite, which shares the machine's)."""
    if not is_postgresql():
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        return cursor.fetchone()[0]


def database_time(seconds: float = 0.0):
    """An expression for the database's "now" plus `seconds` (Python's on SQLite).

    statement_timestamp(), not now(), which is frozen at the start of a transaction.
    """
    if is_postgresql():
        return RawSQL(
            "statement_timestamp() + %s * interval '1 second'", (seconds,), models.DateTimeField()
        )
    return models.Value(timezone.now() + timedelta(seconds=seconds), models.DateTimeField())


class _PercentileCont(models.Aggregate):
    """PostgreSQL's ordered-set aggregate percentile_cont (interpolated between rows)."""

    name = "PercentileCont"
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, filter=None):
        super().__init__(
            expression, output_field=models.FloatField(), filter=filter, fraction=float(fraction)
        )


def percentile_aggregate(value: str, *, fraction: float, filter=None) -> models.Aggregate | None:
    """An aggregate for the ``fraction`` percentile of ``value`` (percentile_cont), to sit
    beside others in one grouped query; None where the database has none (SQLite: use
    percentile_by_group)."""
    _check_fraction(fraction)
    if not is_postgresql():
        return None
    return _PercentileCont(value, fraction=fraction, filter=filter)


def _check_fraction(fraction: float) -> None:
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")


def percentile_by_group(
    queryset: models.QuerySet, *, group: str, value: str, fraction: float
) -> dict:
    """The ``fraction`` percentile of ``value`` per ``group`` over ``queryset``'s rows, as
    PostgreSQL's percentile_cont computes it (interpolated between the two nearest rows).

    SQLite has no percentile_cont: window functions rank each group's rows and only the
    (at most two) rows either side of the percentile's position leave the database.
    """
    _check_fraction(fraction)
    rows = queryset.order_by()
    if is_postgresql():
        found = rows.values(group).annotate(p=_PercentileCont(value, fraction=fraction))
        return dict(found.values_list(group, "p"))
    position = fraction * (F("_size") - 1)  # 0-based, between two ranks
    ranked = rows.annotate(
        _rank=Window(RowNumber(), partition_by=[F(group)], order_by=[F(value).asc()]),
        _size=Window(Count("pk"), partition_by=[F(group)]),
    ).filter(_rank__gte=Floor(position) + 1, _rank__lte=Ceil(position) + 1)
    picked: dict = {}
    for key, rank, size, amount in ranked.values_list(group, "_rank", "_size", value):
        picked.setdefault(key, (size, {}))[1][rank] = float(amount)
    result = {}
    for key, (size, by_rank) in picked.items():
        at = fraction * (size - 1)
        low, high = by_rank[min(by_rank)], by_rank[max(by_rank)]
        result[key] = low + (high - low) * (at - int(at))
    return result
