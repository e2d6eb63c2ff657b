"""Chunks at once: one chunk run twice, two batches claiming one e-mail or phone; counters,
updates."""

import threading
from unittest import mock

import pytest
from django.db import connection, connections
from django.db.models import Count

from batches import services
from batches.services import chunks
from batches.services.chunks import batch_has_pending
from customers.services import customer_create
from leads.models import LeadOwner, LeadStatus, LeadValidation
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


# Each batch spells the same value its own way: claims are on the normalised (E.164) value.
CONTACTS = {
    "email": (
        lambda n, batch: f"shared{n}@example.com" if batch else f"Shared{n}@Example.com",
        lambda n: f"shared{n}@example.com",
    ),
    "phone": (
        lambda n, batch: f"+44 7400 1000{n:02d}" if batch else f"07400 1000{n:02d}",
        lambda n: f"+4474001000{n:02d}",
    ),
}


@pytest.mark.parametrize("kind", ["email", "phone"])
@pytest.mark.django_db(transaction=True)
def test_two_batches_claiming_one_contact_at_once_deliver_it_once(make_upload, settings, kind):
    _postgresql_only()
    settings.DEDUPE_ON_EMAIL = kind == "email"
    settings.DEDUPE_ON_PHONE = kind == "phone"
    spelt, claimed = CONTACTS[kind]
    header = ("first_name", "last_name", "dob", kind)
    # Different people (lead ids) sharing e-mails (phones) 10-19 across the two batches.
    batches = [
        services.batch_create(
            files=[
                make_upload(
                    [[f"{name}{n}", "Lee", "01/03/1990", spelt(n, name == "Bob")] for n in numbers],
                    header=header,
                )
            ],
            queue=False,
        )
        for name, numbers in (("Ann", range(20)), ("Bob", range(10, 30)))
    ]
    ranges = [services.batch_split(batch_pk=batch.pk)[0] for batch in batches]
    # Both chunks have claimed their lead ids and validated before either claims an e-mail.
    both_validated = threading.Barrier(2, timeout=10)
    claim = chunks.leads_claim_contacts

    def claim_after_both_validated(**kwargs):
        both_validated.wait()
        return claim(**kwargs)

    errors = []

    def run(batch, first, last):
        try:
            services.chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)
        except Exception as exc:  # surfaced below, with the thread's own traceback
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(chunks, "leads_claim_contacts", claim_after_both_validated):
        threads = [
            threading.Thread(target=run, args=(batch, *seqs))
            for batch, seqs in zip(batches, ranges, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert not errors, errors
    leads = LeadValidation.objects.filter(batch__in=batches)
    assert not leads.filter(status=LeadStatus.PENDING).exists()
    valid = leads.filter(status=LeadStatus.VALID)
    assert valid.count() == 30  # one holder for each of the 30 values
    assert sorted(valid.values_list(kind, flat=True)) == sorted(claimed(n) for n in range(30))
    delivered = Delivery.objects.filter(lead__in=leads)
    assert sorted(delivered.values_list(f"lead__{kind}", flat=True)) == sorted(
        claimed(n) for n in range(30)
    )
    duplicates = leads.filter(status=LeadStatus.DUPLICATE)
    assert duplicates.count() == 10
    for duplicate in duplicates:
        assert claimed_value(duplicate.duplicate_of, kind) == claimed_value(duplicate, kind)
        assert duplicate.duplicate_of.status == LeadStatus.VALID
    # A lead that lost its e-mail (phone) gave its lead id back.
    assert not LeadOwner.objects.filter(owner__in=duplicates).exists()
    assert LeadOwner.objects.filter(owner__in=valid).count() == 30


def claimed_value(lead, kind):
    """The lead's value as claimed: a duplicate keeps the spelling of its own file."""
    value = getattr(lead, kind)
    return value.lower() if kind == "email" else value.replace(" ", "").replace("07400", "+447400")


@pytest.mark.parametrize("same_customer", [True, False])
@pytest.mark.django_db(transaction=True)
def test_two_batches_claiming_one_person_at_once_deliver_once_per_customer(
    make_upload, same_customer
):
    _postgresql_only()
    customers = [customer_create(slug=slug, name=slug).customer for slug in ("acme", "other")]
    if same_customer:
        customers[1] = customers[0]
    # The same 20 people in both batches, in opposite orders.
    people = [[f"Ann{n}", "Lee", "01/03/1990"] for n in range(20)]
    batches = [
        services.batch_create(files=[make_upload(rows)], queue=False, customer=customer)
        for rows, customer in ((people, customers[0]), (people[::-1], customers[1]))
    ]
    ranges = [services.batch_split(batch_pk=batch.pk)[0] for batch in batches]
    # Both chunks have validated before either claims a lead id.
    both_validated = threading.Barrier(2, timeout=10)
    claim = chunks.leads_claim

    def claim_after_both_validated(**kwargs):
        both_validated.wait()
        return claim(**kwargs)

    errors = []

    def run(batch, first, last):
        try:
            services.chunk_validate(batch_pk=batch.pk, first_seq=first, last_seq=last)
        except Exception as exc:  # surfaced below, with the thread's own traceback
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(chunks, "leads_claim", claim_after_both_validated):
        threads = [
            threading.Thread(target=run, args=(batch, *seqs))
            for batch, seqs in zip(batches, ranges, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert not errors, errors
    leads = LeadValidation.objects.filter(batch__in=batches)
    valid = leads.filter(status=LeadStatus.VALID)
    # Each person once per customer: once in all with one customer, twice with two.
    assert valid.count() == (20 if same_customer else 40)
    assert leads.filter(status=LeadStatus.DUPLICATE).count() == (20 if same_customer else 0)
    per_lead = Delivery.objects.filter(lead__in=leads).values("lead").annotate(n=Count("pk"))
    assert sorted(row["lead"] for row in per_lead) == sorted(valid.values_list("pk", flat=True))
    assert {row["n"] for row in per_lead} == {1}
    assert LeadOwner.objects.filter(owner__in=valid).count() == valid.count()
