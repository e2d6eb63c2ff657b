"""The Celery application, configured from Django settings (CELERY_ namespace)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

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
