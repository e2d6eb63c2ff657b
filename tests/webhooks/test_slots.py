"""Sender slots: a worker that also validates keeps a slot free of sending."""

import os
import time
from types import SimpleNamespace

import pytest

from tests.webhooks.factories import make_deliveries
from webhooks.apps import _configure_sender_slots
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliveries_drain
from webhooks.slots import (
    sender_slot,
    sender_slots_for,
    worker_sender_slots_configure,
    worker_sender_slots_forget,
)


@pytest.fixture
def shared_worker(settings, tmp_path):
    """This process as one pool process of a 2-slot worker consuming every queue."""
    settings.VAR_DIR = tmp_path
    worker_sender_slots_configure(
        name="celery@test", concurrency=2, queues=["batches", "webhooks", "celery"]
    )
    yield
    worker_sender_slots_forget()


@pytest.mark.parametrize(
    ("concurrency", "queues", "slots"),
    [
        (2, ["batches", "webhooks", "celery"], 1),
        (4, ["batches", "webhooks", "celery"], 3),
        (1, ["batches", "webhooks", "celery"], 1),
        (2, ["webhooks"], 2),
        (2, ["batches", "celery"], 1),
    ],
)
def test_a_worker_that_validates_keeps_one_slot_from_sending(concurrency, queues, slots):
    assert sender_slots_for(concurrency=concurrency, queues=queues) == slots


def test_the_worker_notes_its_slots_when_it_starts(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    worker = SimpleNamespace(
        concurrency=2,
        app=SimpleNamespace(
            amqp=SimpleNamespace(queues=SimpleNamespace(consume_from={"batches": 1, "webhooks": 2}))
        ),
    )
    try:
        _configure_sender_slots(sender="celery@host", instance=worker)
        with sender_slot() as first, sender_slot() as second:
            assert (first, second) == (True, False)
    finally:
        worker_sender_slots_forget()


def test_outside_a_worker_sending_takes_no_slot():
    with sender_slot() as first, sender_slot() as second:
        assert (first, second) == (True, True)


def hold_a_slot_in_another_process() -> tuple[int, int]:
    """Fork a pool process that takes a sender slot and keeps it until told to stop."""
    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: hold the slot, say so, wait
        try:
            with sender_slot() as held:
                os.write(ready_w, b"1" if held else b"0")
                os.read(stop_r, 1)
        finally:
            os._exit(0)
    assert os.read(ready_r, 1) == b"1"
    return pid, stop_w


@pytest.mark.django_db
def test_while_another_slot_sends_a_drain_leaves_its_slot_at_once(sending, shared_worker):
    """Slow receivers hold the worker's one sender slot: the other slot stays free for a
    split, because a sweep or drain landing there returns at once instead of sending."""
    [delivery] = make_deliveries(1)
    pid, stop = hold_a_slot_in_another_process()  # a drain sending to a slow receiver
    try:
        started = time.monotonic()
        stats = deliveries_drain(deadline=time.time() + 30)
        took = time.monotonic() - started
    finally:
        os.write(stop, b"x")
        os.waitpid(pid, 0)

    assert took < 0.5
    assert (stats["claimed"], stats["stopped"]) == (0, "no free sender slot")
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SCHEDULED

    assert deliveries_drain(deadline=time.time() + 30)["delivered"] == 1  # slot given back


def test_a_slot_held_by_a_process_that_died_is_free_again(shared_worker):
    pid, _stop = hold_a_slot_in_another_process()
    with sender_slot() as held:
        assert held is False
    os.kill(pid, 9)
    os.waitpid(pid, 0)

    with sender_slot() as held:
        assert held is True
