"""Tasks and their setup: the sweep and drains run twice change nothing; the periodic task."""

import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from batches.setup import periodic_tasks_ensure
from tests.webhooks.factories import make_deliveries
from webhooks import tasks
from webhooks.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db


def snapshot():
    return list(Delivery.objects.order_by("pk").values_list("status", "attempts", "delivered_at"))


def test_sweep_task_run_twice_sends_each_delivery_once(sending, receiver):
    make_deliveries(3)

    first = tasks.sweep()
    after_first = snapshot()
    second = tasks.sweep()

    assert (first["delivered"], second["claimed"]) == (3, 0)
    assert snapshot() == after_first
    assert receiver.request_count == 3


def test_drain_task_run_twice_sends_each_delivery_once(sending, receiver):
    make_deliveries(3)
    deadline = time.time() + 30

    assert tasks.drain(deadline)["delivered"] == 3
    assert tasks.drain(deadline)["claimed"] == 0
    assert receiver.request_count == 3


def test_sweep_fans_out_drains_for_the_other_worker_slots(sending, receiver, monkeypatch):
    from webhooks.services import sending as sending_module

    monkeypatch.setattr(sending_module, "PAGE_SIZE", 2)
    sending.WEBHOOK_DRAINERS = 3
    queued = []
    monkeypatch.setattr(tasks.drain, "delay", lambda deadline: queued.append(deadline))
    make_deliveries(5)

    tasks.sweep()

    assert len(queued) == 2  # three senders: the sweep itself and two drains
    assert len(set(queued)) == 1 and queued[0] > time.time()
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 5


def test_tasks_are_named_and_routed_to_the_webhooks_queue(settings):
    from valify.celery import app

    for task in (tasks.sweep, tasks.drain):
        assert task.name.startswith("webhooks.")
        assert app.amqp.router.route({}, task.name)["queue"].name == "webhooks"


def test_migrate_creates_the_sweep_every_webhook_sweep_seconds():
    task = PeriodicTask.objects.get(task="webhooks.sweep")

    assert task.enabled
    assert (task.interval.every, task.interval.period) == (30, IntervalSchedule.SECONDS)


def test_operators_edits_to_the_sweep_are_kept(settings):
    task = PeriodicTask.objects.get(task="webhooks.sweep")
    task.interval, _ = IntervalSchedule.objects.get_or_create(
        every=10, period=IntervalSchedule.SECONDS
    )
    task.enabled = False
    task.save()
    settings.WEBHOOK_SWEEP_SECONDS = 45

    periodic_tasks_ensure()

    task = PeriodicTask.objects.get(task="webhooks.sweep")
    assert (task.interval.every, task.enabled) == (10, False)
    assert PeriodicTask.objects.filter(task="webhooks.sweep").count() == 1


def test_a_deleted_sweep_comes_back_on_migrate_with_the_setting(settings):
    PeriodicTask.objects.filter(task="webhooks.sweep").delete()
    settings.WEBHOOK_SWEEP_SECONDS = 45

    periodic_tasks_ensure()

    assert PeriodicTask.objects.get(task="webhooks.sweep").interval.every == 45
