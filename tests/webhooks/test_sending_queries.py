"""What sending asks of the database: the environment once a drain, not before every page;
no read for erasures where the outcomes' own update said none of them was erased."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.webhooks.factories import make_deliveries
from webhooks.services import deliveries_sweep
from webhooks.services import page as page_module
from webhooks.services import sending as sending_module

pytestmark = pytest.mark.django_db


def _sql(captured) -> list[str]:
    return [query["sql"] for query in captured.captured_queries]


def test_a_drain_reads_the_environments_customer_once_for_all_its_pages(
    sending, receiver, monkeypatch
):
    monkeypatch.setattr(sending_module, "PAGE_SIZE", 2)
    make_deliveries(6)

    with CaptureQueriesContext(connection) as captured:
        stats = deliveries_sweep()

    assert stats["delivered"] == 6  # in three pages of two
    default_reads = [  # environment_apply's look at the customer (.first())
        sql
        for sql in _sql(captured)
        if 'WHERE "customers_customer"."slug" = \'default\'' in sql and sql.endswith("LIMIT 1")
    ]
    assert len(default_reads) == 1, default_reads


def test_recording_outcomes_reads_no_erasure_where_none_was_erased(sending, receiver, monkeypatch):
    monkeypatch.setattr(page_module, "FLUSH_EVERY", 2)
    make_deliveries(4)

    with CaptureQueriesContext(connection) as captured:
        assert deliveries_sweep()["delivered"] == 4

    reads = [sql for sql in _sql(captured) if sql.startswith("SELECT") and "erased_at" in sql]
    assert reads == []
