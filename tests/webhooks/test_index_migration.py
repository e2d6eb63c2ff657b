"""webhooks 0006 builds its indexes concurrently; a build that failed half-way is redone."""

import pytest
from django.db import connection

from tests.migrating import back_to_the_latest, migrate  # noqa: F401 (fixture)

BEFORE = [("webhooks", "0005_payload_json_text")]
AFTER = [("webhooks", "0006_delivery_indexes")]

pytestmark = pytest.mark.django_db(transaction=True)


def index(name: str):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s",
            [name],
        )
        return cursor.fetchone()


def test_an_index_a_failed_build_left_invalid_is_built_again():
    if connection.vendor != "postgresql":
        pytest.skip("CREATE INDEX CONCURRENTLY is PostgreSQL's")
    migrate(BEFORE)
    # What an interrupted CREATE INDEX CONCURRENTLY leaves: the name taken, the index unused.
    with connection.cursor() as cursor:
        cursor.execute('CREATE INDEX "delivery_ended_idx" ON webhooks_delivery (id)')
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false "
            "WHERE indexrelid = 'delivery_ended_idx'::regclass"
        )

    migrate(AFTER)

    valid, definition = index("delivery_ended_idx")
    assert valid
    assert "(status, updated_at)" in definition and "WHERE" in definition


def test_the_indexes_are_built_when_none_was_left():
    migrate(BEFORE)
    migrate(AFTER)
    if connection.vendor == "postgresql":
        assert all(index(name)[0] for name in ("delivery_batch_idx", "delivery_delivered_at_idx"))
    with connection.cursor() as cursor:
        names = set(connection.introspection.get_constraints(cursor, "webhooks_delivery"))
    assert {"delivery_batch_idx", "delivery_delivered_at_idx", "delivery_ended_idx"} <= names
