"""The Celery application, configured from Django settings (CELERY_ namespace)."""

import logging
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init
from celery.worker.consumer import Consumer
from django.db import close_old_connections

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valify.settings")

app = Celery("valify")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections_between_tasks(sender=None, **kwargs) -> None:
    """Treat each task as Django treats a request: drop connections that are broken, older
    than CONN_MAX_AGE or left outside autocommit, and health-check the next use.

    Eager tasks run inside the caller's transaction (tests), which must not be touched.
    """
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


@worker_init.connect
def _warm_rules_before_forking(**kwargs) -> None:
    """Build what the rules and enrichment load lazily once, before the pool forks."""
    from batches.services.warm import rules_warm_up

    try:
        rules_warm_up()
    except Exception:  # a broken custom rule fails its chunks, as before; never the start
        logger.warning("worker.warm_up_failed", exc_info=True)


class BrokerLossConsumer(Consumer):
    """Celery's consumer, which outlives a broker restart.

    When the broker connection drops, Celery first collects it, which forgets the broker's
    address on the transport, and then closes it. On Redis both that close (it gives back
    unacknowledged messages) and any later acknowledgement of a message that came over the
    lost connection (a task still running) need that address: they raised AttributeError,
    which is no connection error, and the worker process exited instead of reconnecting.
    Here the transport keeps the address, so they reach the broker again or fail with a
    connection error, which Celery logs and survives (the message is then redelivered, and
    tasks are idempotent).
    """

    def on_connection_error_after_connected(self, exc):
        lost = self.connection
        transport = getattr(lost, "transport", None) if lost is not None else None
        if transport is None:
            return super().on_connection_error_after_connected(exc)
        client, close = transport.client, lost.close

        def close_with_address():
            transport.client = client
            try:
                close()
            except AttributeError:  # anything else still needing what was collected
                logger.warning("broker.close_failed", exc_info=True)

        lost.close = close_with_address
        try:
            super().on_connection_error_after_connected(exc)
        finally:
            transport.client = client  # for acks of messages the lost connection delivered
