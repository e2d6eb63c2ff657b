"""Two runs of one chunk at once, the pending counter, and outcome updates made in place."""

import threading
from unittest import mock

import pytest
from django.db import connection, connections
from django.db.models import Count

from batches import services
from batches.services import chunks
from batches.services.chunks import batch_has_pending
from leads.models import LeadStatus, LeadValidation
from webhooks.models import Delivery

ROWS = [[f"Ann{n}", "Lee", f"{n % 28 + 1:02d}/03/1990"] for n in range(40)]


def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions and HOT updates need PostgreSQL")


@pytest.mark.django_db
def test_pending_counter_follows_the_chunks(make_upload, settings):
    settings.CHUNK_SIZE = 25
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    ranges = services.batch_split(batch_pk=batch.pk)
    assert len(ranges) == 2
    services.chunk_validate(batch_pk=batch.pk, first_seq=ranges[0][0], last_seq=ranges[0][1])
    assert batch_has_pending(batch_pk=batch.pk)
    services.chunk_validate(batch_pk=batch.pk, first_seq=ranges[1][0], last_seq=ranges[1][1])
    assert not batch_has_pending(batch_pk=batch.pk)
    assert not LeadValidation.objects.filter(batch=batch, status=LeadStatus.PENDING).exists()


@pytest.mark.django_db(transaction=True)
def test_one_chunk_run_twice_at_once_delivers_each_lead_once(make_upload):
    _postgresql_only()
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    (first, last), *_ = services.batch_split(batch_pk=batch.pk)
    # Both runs read the same pending rows before either writes anything.
    both_read = threading.Barrier(2, timeout=10)
    claim = chunks.leads_claim

    def claim_after_both_read(**kwargs):
        both_read.wait()
        return claim(**kwargs)

    results, errors = [], []

    def run():
        try:
            results.append(
                services.chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)
            )
        except Exception as exc:  # surfaced below, with the thread's own traceback
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(chunks, "leads_claim", claim_after_both_read):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert not errors, errors
    assert sorted(r["processed"] for r in results) == [0, len(ROWS)]
    per_lead = Delivery.objects.filter(batch=batch).values("lead").annotate(n=Count("pk"))
    assert per_lead.count() == len(ROWS)
    assert {row["n"] for row in per_lead} == {1}
    batch.refresh_from_db()
    assert batch.processed_leads == batch.total_leads == len(ROWS)


@pytest.mark.django_db(transaction=True)
def test_outcomes_are_written_in_place_without_index_entries(make_upload):
    _postgresql_only()
    batch = services.batch_create(files=[make_upload(ROWS)], queue=False)
    ranges = services.batch_split(batch_pk=batch.pk)
    table = LeadValidation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = %s",
            [table],
        )
        updates_before, hot_before = cursor.fetchone()
    for first, last in ranges:
        services.chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = %s",
            [table],
        )
        updates_after, hot_after = cursor.fetchone()

    updates, hot = updates_after - updates_before, hot_after - hot_before
    assert updates >= len(ROWS)
    # Outcome updates are HOT: an index on a changed column (such as status) makes none of
    # them so, pages filled up to the brim only the odd one.
    assert hot >= 0.95 * updates, (hot, updates)
