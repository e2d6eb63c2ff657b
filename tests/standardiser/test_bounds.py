"""Bounds on asking the model: calls at once across workers, calls per batch, re-runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from standardiser.models import AiBatchUsage, AiCallReservation, AiCallSlot
from standardiser.services import (
    FAILED,
    ai_answers,
    ai_call_reserve,
    ai_slot_acquire,
    ai_slot_release,
    ai_slots_ensure,
    ai_usage_start,
)
from tests.aifake import Step
from tests.batches.test_pipeline import process

pytestmark = pytest.mark.django_db


def unread_rows(n):
    """Rows as a chunk reads them, each with a different name the rules could not read."""
    return [
        {
            "pk": 1000 + i,
            "seq": i + 1,
            "first_name": "",
            "last_name": f"SMITH Name{i}",
            "dob_raw": "15th March 1990",
            "raw": {"last_name": f"SMITH Name{i}", "dob": "15th March 1990"},
        }
        for i in range(n)
    ]


@pytest.fixture
def batch(make_upload):
    return process(make_upload, [["John", "Smith", "15/03/1990"]])


def test_no_more_than_ai_concurrency_calls_are_in_flight(fake_model, settings, batch):
    settings.AI_CONCURRENCY = 2
    fake_model.delay = 0.3

    answers = ai_answers(batch_pk=batch.pk, rows=unread_rows(6))

    assert len(fake_model.requests) == 6
    assert fake_model.most_in_flight == 2
    assert {a.outcome for a in answers.values()} == {"answered"}


def test_a_place_held_by_another_worker_counts_against_the_bound(fake_model, settings, batch):
    settings.AI_CONCURRENCY = 2
    fake_model.delay = 0.2
    ai_slots_ensure()
    other = ai_slot_acquire()  # another worker's call in flight

    ai_answers(batch_pk=batch.pk, rows=unread_rows(4))

    assert fake_model.most_in_flight == 1
    ai_slot_release(token=other)
    assert ai_slot_acquire() is not None


def test_an_expired_place_is_taken_back(settings):
    settings.AI_CONCURRENCY = 1
    ai_slots_ensure()
    assert ai_slot_acquire() is not None
    assert ai_slot_acquire() is None, "the one place is held"
    # Its holder died: the place outlives it only until it expires.
    AiCallSlot.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ai_slot_acquire() is not None


@pytest.mark.parametrize(
    ("timeout", "budget", "held"),
    [(30, 12, 12 + 10), (2, 60, 2 * 3 + 2 * 10 + 10)],
    ids=["the-chunk-budget-bounds-it", "three-attempts-and-the-longest-waits"],
)
def test_a_place_is_held_as_long_as_a_call_can_last_and_no_longer(settings, timeout, budget, held):
    """A worker killed mid-call keeps its place from the others until it expires: that is
    as long as its call could have lasted (each attempt is cut by the wall clock), plus a
    margin, not a fixed multiple of the timeout."""
    settings.AI_CONCURRENCY, settings.AI_TIMEOUT = 1, timeout
    settings.ENRICH_CHUNK_BUDGET_SECONDS = budget
    ai_slots_ensure()
    before = timezone.now()
    assert ai_slot_acquire() is not None
    expires = AiCallSlot.objects.get().expires_at
    assert held <= (expires - before).total_seconds() < held + 1


def test_a_row_is_counted_once_however_often_its_chunk_runs(fake_model, settings, batch):
    fake_model.script.extend([Step(status=500)] * 3)  # the first run's call fails
    rows = unread_rows(1)

    first = ai_answers(batch_pk=batch.pk, rows=rows)
    second = ai_answers(batch_pk=batch.pk, rows=rows)

    assert first[1000].outcome == FAILED and second[1000].outcome == "answered"
    assert len(fake_model.requests) == 4
    assert AiBatchUsage.objects.get(batch=batch).calls == 1


def test_reservations_stop_at_the_batch_budget(settings, batch):
    settings.AI_MAX_CALLS_PER_BATCH = 2
    ai_usage_start(batch_pk=batch.pk)

    taken = [ai_call_reserve(batch_pk=batch.pk, seq=seq) for seq in (1, 2, 3, 1, 2)]

    assert taken == [True, True, False, True, True]
    assert AiBatchUsage.objects.get(batch=batch).calls == 2
    assert AiCallReservation.objects.filter(batch=batch).count() == 2


def test_a_long_ask_reports_progress_so_the_reconciler_leaves_it(
    fake_model, settings, batch, monkeypatch
):
    from standardiser.services import run

    monkeypatch.setattr(run, "PROGRESS_EVERY", 0.1)
    settings.AI_CONCURRENCY = 1
    fake_model.delay = 0.15
    ticks = []

    ai_answers(batch_pk=batch.pk, rows=unread_rows(4), on_progress=lambda: ticks.append(1))

    assert len(ticks) >= 3


def test_a_chunk_of_a_batch_no_longer_processing_asks_nothing(fake_model, make_upload):
    from batches.models import BatchJob
    from batches.services import batch_create, batch_split
    from batches.services.standardise import chunk_ask_ai

    created = batch_create(
        files=[make_upload([["", "SMITH John", "15th March 1990"]])], queue=False
    )
    batch_split(batch_pk=created.pk)
    assert chunk_ask_ai(batch_pk=created.pk, first_seq=1, last_seq=10) != {}
    # Failed while its rows were still pending (a cancel would have failed them too).
    BatchJob.objects.filter(pk=created.pk).update(status="failed")
    asked = len(fake_model.requests)

    assert chunk_ask_ai(batch_pk=created.pk, first_seq=1, last_seq=10) == {}
    assert len(fake_model.requests) == asked
