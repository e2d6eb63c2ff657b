"""Sending's state: the switch, the sweep's heartbeat, and what stops sending (settings,
customers)."""

from datetime import datetime

from django.conf import settings
from django.db.models import (
    Min,
    Q,
)
from django_celery_beat.models import PeriodicTask

from customers.models import DEFAULT_SLUG, Customer, Endpoint
from customers.selectors import (
    customers_visible_to,
    user_sees_all_customers,
)
from webhooks.models import OPEN_STATUSES, Delivery, WebhookControl
from webhooks.retry import parse_schedule
from webhooks.signing import secret_key


def webhook_control() -> WebhookControl:
    """Return the sending switch (the singleton row, created on first use)."""
    control, _ = WebhookControl.objects.get_or_create(pk=WebhookControl.SINGLETON_PK)
    return control


def sending_paused() -> bool:
    return WebhookControl.objects.filter(pk=WebhookControl.SINGLETON_PK, paused=True).exists()


def sweep_last_run() -> datetime | None:
    """When the webhooks.sweep task last ran, or None if it never has."""
    return (
        WebhookControl.objects.filter(pk=WebhookControl.SINGLETON_PK)
        .values_list("sweep_ran_at", flat=True)
        .first()
    )


def sweep_scheduled_since() -> datetime | None:
    """When the sweep's enabled beat schedule was set up or last changed; None when the
    sweep has no enabled schedule (beat would never run it)."""
    return PeriodicTask.objects.filter(task="webhooks.sweep", enabled=True).aggregate(
        since=Min("date_changed")
    )["since"]


def secret_problem() -> str | None:
    """Why the default customer's deliveries cannot be signed, or None when they can."""
    if not settings.WEBHOOK_SECRET:
        if Customer.objects.filter(slug=DEFAULT_SLUG).exclude(secret="").exists():
            return None  # given one by `rotate_secret default`
        return (
            "WEBHOOK_SECRET is not set: the default customer's webhooks are not sent until it"
            " is (or `manage.py rotate_secret default` gives that customer a secret)."
        )
    try:
        secret_key(settings.WEBHOOK_SECRET)
    except ValueError as exc:
        return f"{exc}: no webhook is sent until it is fixed."
    return None


def schedule_problem() -> str | None:
    try:
        parse_schedule(settings.WEBHOOK_RETRY_SCHEDULE)
    except ValueError as exc:
        return f"{exc}: no webhook is sent until it is fixed."
    return None


def sending_problems(*, customers=None) -> list[str]:
    """What keeps deliveries waiting, for the admin's banner (empty when sending works).

    ``customers``: only these customers are named (a scoped user's), None for all. What
    stops every customer's sending (a malformed secret or schedule, the pause switch) is
    told to everyone; what concerns the default customer only to those who see it.
    """
    sees_default = customers is None or customers.filter(slug=DEFAULT_SLUG).exists()
    problems = []
    secret = secret_problem()
    if secret and (settings.WEBHOOK_SECRET or sees_default):
        problems.append(secret)
    if schedule := schedule_problem():
        problems.append(schedule)
    if sees_default and (route := default_route_problem()):
        problems.append(route)
    problems.extend(customer_problems(customers=customers))
    if sending_paused():
        problems.append("Sending is paused (Webhook sending switch): nothing is sent.")
    return problems


def sending_problems_for(user) -> list[str]:
    """sending_problems naming only the customers ``user`` may see."""
    scope = None if user_sees_all_customers(user) else customers_visible_to(user)
    return sending_problems(customers=scope)


def default_route() -> Q:
    """The deliveries WEBHOOK_URL takes: the default customer's, bound to none of its
    endpoints, of batches without their own webhook URL."""
    return Q(
        customer_endpoint__isnull=True, batch__webhook_url="", batch__customer__slug=DEFAULT_SLUG
    )


def default_route_problem() -> str | None:
    """With no WEBHOOK_URL, the default customer's deliveries that have nowhere to go: those
    bound to none of its endpoints, of batches without their own webhook URL."""
    if settings.WEBHOOK_URL:
        return None
    if Delivery.objects.filter(default_route(), status__in=OPEN_STATUSES).exists():
        return (
            "WEBHOOK_URL is not set: the default customer's deliveries bound to none of its"
            " endpoints (of batches without their own webhook URL) are waiting."
        )
    has_endpoint = Endpoint.objects.filter(customer__slug=DEFAULT_SLUG, is_archived=False).exists()
    if has_endpoint:
        return None
    return (
        "WEBHOOK_URL is not set and the default customer has no endpoint: its deliveries"
        " (of batches without their own webhook URL) will wait."
    )


def customer_problems(*, customers=None) -> list[str]:
    """Customers other than `default` whose open deliveries wait: no secret, inactive, or no
    endpoint (the default customer's are told by the WEBHOOK_SECRET and WEBHOOK_URL lines)."""
    waiting = Delivery.objects.filter(status__in=OPEN_STATUSES).exclude(
        batch__customer__slug=DEFAULT_SLUG
    )
    if customers is not None:
        waiting = waiting.filter(batch__customer__in=customers)

    def slugs(deliveries) -> str:
        found = deliveries.values_list("batch__customer__slug", flat=True).distinct()
        return ", ".join(sorted(found))

    problems = []
    if names := slugs(waiting.filter(batch__customer__secret="")):
        problems.append(f"No signing secret: the webhooks of {names} wait (rotate_secret SLUG).")
    if names := slugs(waiting.filter(batch__customer__is_active=False)):
        problems.append(f"Inactive: the webhooks of {names} wait until reactivated.")
    no_endpoint = waiting.filter(customer_endpoint__isnull=True, batch__webhook_url="")
    if names := slugs(no_endpoint):
        problems.append(f"No endpoint: the webhooks of {names} wait until one is added.")
    return problems
