"""Reads: which customers a user may see, where an upload goes, which secrets sign, and each
customer's policy."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from customers.errors import CustomerRefused
from customers.extra import SEND_EXTRA_ALL, send_extra_headers
from customers.models import DEFAULT_SLUG, Customer, Endpoint
from customers.secrets import valid_secrets
from customers.windows import Window, parse_window

VIEW_ALL = "customers.view_all_customers"


def user_sees_all_customers(user) -> bool:
    """Superusers and holders of view_all_customers see every customer; others fail closed."""
    return bool(user and user.is_active and (user.is_superuser or user.has_perm(VIEW_ALL)))


def customers_visible_to(user) -> QuerySet[Customer]:
    """The customers ``user`` may see and act on: all, their memberships, or none."""
    if user_sees_all_customers(user):
        return Customer.objects.all()
    if not user or not user.is_authenticated or not user.is_active:
        return Customer.objects.none()
    return Customer.objects.filter(members=user)


def customer_visible_to(user, customer_pk: int) -> bool:
    """Whether ``user`` may see and act for the customer ``customer_pk`` (see above)."""
    return customers_visible_to(user).filter(pk=customer_pk).exists()


def endpoints_disabled(pks: Iterable[int]) -> set[int]:
    """Which of these endpoints are disabled now (their deliveries wait)."""
    return set(
        Endpoint.objects.filter(pk__in=list(pks), is_enabled=False).values_list("pk", flat=True)
    )


def endpoints_visible_to(user, *, token_customer: Customer | None = None) -> QuerySet[Endpoint]:
    """The endpoints ``user`` may see and change (a scoped token: its customer's only)."""
    endpoints = Endpoint.objects.filter(customer__in=customers_visible_to(user))
    if token_customer is not None:
        endpoints = endpoints.filter(customer=token_customer)
    return endpoints


def customer_default_for(user) -> Customer:
    """The customer an upload goes to when none is named: the user's only one, else default."""
    if not user_sees_all_customers(user):
        mine = list(customers_visible_to(user)[:2])
        if len(mine) == 1:
            return mine[0]
    return default_customer()


def default_customer() -> Customer:
    """The customer `default` (made by migrate, and again should it have been removed)."""
    return Customer.objects.get_or_create(slug=DEFAULT_SLUG, defaults={"name": "Default"})[0]


def customer_for_upload(
    *, user, slug: str | None = None, token_customer: Customer | None = None
) -> Customer:
    """The customer an upload by ``user`` (through a token scoped to ``token_customer``) goes to.

    Raise CustomerRefused ``unknown_customer`` for a slug that does not exist or lies outside
    the user's (or token's) scope, and ``customer_inactive`` for an inactive customer.
    """
    slug = (slug or "").strip()
    if token_customer is not None:
        if slug and slug != token_customer.slug:
            raise CustomerRefused(
                "unknown_customer",
                f"This token uploads to customer '{token_customer.slug}' only, not '{slug}'.",
            )
        customer = token_customer
    elif slug:
        customer = customers_visible_to(user).filter(slug=slug).first()
        if customer is None:
            raise CustomerRefused("unknown_customer", f"Unknown customer '{slug}'.")
    else:
        customer = customer_default_for(user)
        # Fail closed: staff scoped to several customers (or none) must name one of theirs.
        if not customers_visible_to(user).filter(pk=customer.pk).exists():
            raise CustomerRefused(
                "unknown_customer",
                "Name the customer to upload to (the 'customer' field): "
                f"'{customer.slug}' is not one of yours.",
            )
    if not customer.is_active:
        raise CustomerRefused(
            "customer_inactive", f"Customer '{customer.slug}' is inactive: uploads are refused."
        )
    return customer


def customer_signing_secrets(customer: Customer, *, now: datetime | None = None) -> list[str]:
    """The secrets a delivery of ``customer`` is signed with, newest first; [] when it has none."""
    return valid_secrets(
        current=customer.secret,
        previous=customer.previous_secret,
        previous_valid_until=customer.previous_valid_until,
        now=now or timezone.now(),
    )


def batch_signing_secrets(*, batch_pk: int) -> list[str]:
    """The secrets a delivery of batch ``batch_pk`` is signed with (its customer's)."""
    customer = Customer.objects.filter(batches__pk=batch_pk).first()
    return customer_signing_secrets(customer) if customer else []


def endpoints_failing_too_long(*, now: datetime) -> list[int]:
    """Enabled endpoints whose every attempt has failed for ENDPOINT_DISABLE_AFTER_HOURS by
    ``now`` (a small table: the sweep asks once a run)."""
    cutoff = now - timedelta(hours=settings.ENDPOINT_DISABLE_AFTER_HOURS)
    return list(
        Endpoint.objects.filter(is_enabled=True, failing_since__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def endpoint_rate_limits(*, endpoint_pks: Iterable[int]) -> dict[int, float]:
    """Each endpoint's requests/s across all workers, in one query (0 = unlimited; a deleted
    one: unlimited)."""
    pks = set(endpoint_pks)
    rates = dict(Endpoint.objects.filter(pk__in=pks).values_list("pk", "rate_limit"))
    return {pk: float(rates.get(pk) or 0) for pk in pks}


@dataclass(frozen=True, slots=True)
class CustomerPolicy:
    """A customer's policy with every empty field read from the setting of the same name."""

    webhook_delay_seconds: int
    consent_required: bool
    dedupe_on_email: bool
    dedupe_on_phone: bool
    min_age: int
    # The supplier headers its payloads carry (None: all); no setting, the customer's own.
    send_extra: frozenset[str] | None = None


def customer_policy(customer_pk: int | None) -> CustomerPolicy:
    """The policy of customer ``customer_pk`` (the settings alone for None)."""
    own = (
        Customer.objects.filter(pk=customer_pk)
        .values(*(f.name for f in fields(CustomerPolicy) if f.name != "send_extra"), "send_extra")
        .first()
        if customer_pk is not None
        else None
    ) or {}

    def pick(name: str):
        value = own.get(name)
        return getattr(settings, name.upper()) if value is None else value

    from_settings = {f.name: pick(f.name) for f in fields(CustomerPolicy) if f.name != "send_extra"}
    return CustomerPolicy(
        **from_settings, send_extra=send_extra_headers(own.get("send_extra", SEND_EXTRA_ALL))
    )


def customer_sends_from(
    *, customer_pk: int, due: datetime, now: datetime, delivered_today: Callable[[], int]
) -> datetime | None:
    """When the customer's delivery due at ``due`` may go out: ``due`` itself, else the
    opening of its delivery window, or the next local midnight while its daily cap is
    reached today (`delivered_today()`, asked only then); None while it cannot send at all
    (inactive, or no signing secret)."""
    own = (
        Customer.objects.filter(pk=customer_pk)
        .values("is_active", "secret", "delivery_window", "max_deliveries_per_day")
        .first()
    )
    if own is None or not own["is_active"] or not own["secret"]:
        return None
    window, cap = _window_and_cap(own["delivery_window"], own["max_deliveries_per_day"])
    start = local = timezone.localtime(max(due, now))
    today = timezone.localtime(now).date()
    if cap and local.date() == today and delivered_today() >= cap:
        local = datetime.combine(today + timedelta(days=1), time(), tzinfo=local.tzinfo)
    if window:
        local = parse_window(window).next_open(local)
    return due if local == start else local  # overdue stays overdue when nothing holds it


@dataclass(frozen=True)
class DeliveryLimits:
    """What customers' delivery windows and daily caps allow now (see delivery_limits)."""

    held: list[int]  # customers whose deliveries wait now
    caps_left: dict[int, int]  # capped customers not held: how many more may go today
    windows: dict[int, Window]  # customers not held that have a window (open now)

    @property
    def capped(self) -> bool:
        """Whether a claim may take more of some customer than its cap lets through."""
        return bool(self.caps_left)


def customer_windows() -> dict[int, Window]:
    """Each customer's delivery window, its own or DELIVERY_WINDOW; none for those without."""
    customers = Customer.objects.all()
    if not settings.DELIVERY_WINDOW:
        customers = customers.exclude(delivery_window="")
    rows = customers.values_list("pk", "delivery_window")
    windows = ((pk, _window_and_cap(own, None)[0]) for pk, own in rows)
    return {pk: parse_window(window) for pk, window in windows if window}


def delivery_limits(*, now: datetime, taken_today: Callable[[], dict[int, int]]) -> DeliveryLimits:
    """Customers whose deliveries wait now: outside their delivery window (in TIME_ZONE), or
    at their daily cap (`taken_today()`: by customer, deliveries delivered since local
    midnight and those being sent; asked only when some customer has a cap); and, of the
    others, how many more each capped one may take today and each one's window.

    A customer's empty window is DELIVERY_WINDOW's, an empty cap MAX_DELIVERIES_PER_DAY's.
    """
    local = timezone.localtime(now)
    default_window, default_cap = settings.DELIVERY_WINDOW, settings.MAX_DELIVERIES_PER_DAY
    policies = Customer.objects.all()
    if not (default_window or default_cap):
        policies = policies.filter(~Q(delivery_window="") | Q(max_deliveries_per_day__gt=0))
    rows = policies.values_list("pk", "delivery_window", "max_deliveries_per_day")
    rules = [(pk, *_window_and_cap(window, cap)) for pk, window, cap in rows]
    # The count reads every delivery delivered today: only worth it when some cap applies.
    counts = taken_today() if any(cap for _, _, cap in rules) else {}
    held, caps_left, windows = [], {}, {}
    for pk, window_text, cap in rules:
        window = parse_window(window_text) if window_text else None
        left = cap - counts.get(pk, 0) if cap else None
        if (window and not window.is_open(local)) or (left is not None and left <= 0):
            held.append(pk)
            continue
        if left is not None:
            caps_left[pk] = left
        if window:
            windows[pk] = window
    return DeliveryLimits(held=held, caps_left=caps_left, windows=windows)


def customers_holding_deliveries(
    *, now: datetime, delivered_today: Callable[[], dict[int, int]]
) -> list[int]:
    """The customers whose deliveries wait now (delivery_limits' `held`)."""
    return delivery_limits(now=now, taken_today=delivered_today).held


def _window_and_cap(window: str, cap: int | None) -> tuple[str, int]:
    """A customer's delivery window and daily cap, an empty one read from its setting."""
    return (
        window or settings.DELIVERY_WINDOW,
        settings.MAX_DELIVERIES_PER_DAY if cap is None else cap,
    )
