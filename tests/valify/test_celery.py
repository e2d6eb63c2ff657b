"""Database connections in the worker: kept between tasks, dropped by Django's own rules."""

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from batches.tasks import finalize_batch
from valify.celery import app


@pytest.fixture(autouse=True)
def _server_database():
    # SQLite's in-memory test database ignores close(), so there is nothing to observe there.
    if connection.vendor != "postgresql":
        pytest.skip("connection reuse is observable on a database server (PostgreSQL)")


def _run_task_boundaries(task) -> None:
    """What the worker does around a task: Celery's Django fixup, then the signal handlers."""
    fixup = DjangoWorkerFixup(app)
    fixup.on_task_prerun(sender=task)
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    fixup.on_task_postrun(sender=task)
    task_postrun.send(
        sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS"
    )


@pytest.mark.django_db(transaction=True)
def test_a_connection_within_conn_max_age_survives_a_task():
    task = finalize_batch
    connection.ensure_connection()
    opened = connection.connection
    connection.close_at = time.monotonic() + 60  # as CONN_MAX_AGE = 60 sets it

    _run_task_boundaries(task)

    assert connection.connection is opened


@pytest.mark.django_db(transaction=True)
def test_a_connection_past_conn_max_age_is_closed_at_the_task_boundary():
    task = finalize_batch
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1

    _run_task_boundaries(task)

    assert connection.connection is None
