"""Create the periodic tasks the product needs; operators' edits are left alone."""

PERIODIC_TASKS = (
    # (name, task, seconds)
    ("Reconcile stalled batches", "batches.reconcile", 30),
    ("Purge abandoned uploads", "batches.purge_pending_uploads", 3600),
    ("Purge expired uploads and leads", "batches.purge_expired", 3600),
    ("Purge expired cached answers", "batches.purge_caches", 3600),
    ("Send unsent alerts", "alerts.send_unsent", 60),
)


def periodic_tasks_ensure(**kwargs) -> None:
    """Create each periodic task if it does not exist yet (post_migrate handler)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, task, seconds in (*PERIODIC_TASKS, *extra_periodic_tasks()):
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.create(name=name, task=task, interval=interval)


def extra_periodic_tasks() -> tuple[tuple[str, str, int], ...]:
    """Periodic tasks whose interval comes from settings."""
    from django.conf import settings

    return (("Sweep due webhooks", "webhooks.sweep", settings.WEBHOOK_SWEEP_SECONDS),)
