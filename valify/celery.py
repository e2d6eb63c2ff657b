"""The Celery application, configured from Django settings (CELERY_ namespace)."""

import logging
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
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


class BrokerLossConsumer(Consumer):
    """Celery's consumer, which reconnects even when closing the lost connection fails.

    When Redis goes away, Celery closes the broken connection before reconnecting, and only
    connection errors raised by that close are ignored. On Redis the close can also raise
    AttributeError (the channel looks up the broker's address on a connection already torn
    down), which ended the worker process instead of reconnecting. Nothing depends on that
    close: the server is gone, and it gives back unacknowledged messages on its own.
    """

    def on_connection_error_after_connected(self, exc):
        if self.connection is not None:
            self.connection.close = _ignoring_attribute_errors(self.connection.close)
        super().on_connection_error_after_connected(exc)


def _ignoring_attribute_errors(close):
    def close_lost_connection():
        try:
            close()
        except AttributeError:
            logger.warning("broker.close_failed", exc_info=True)

    return close_lost_connection
