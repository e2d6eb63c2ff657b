"""Delivery reads: counts, re-send picks, lead summaries, when a batch's next one is due,
and what a daily cap counts."""

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Now, NullIf
from django.utils import timezone

from batches.selectors import batches_visible
from customers.models import DEFAULT_SLUG, Endpoint
from customers.selectors import customer_sends_from, delivery_limits
from valify.timefmt import local_midnight
from webhooks.models import FINAL_STATUSES, OPEN_STATUSES, Delivery, DeliveryStatus
from webhooks.selectors.sending import sending_paused


def delivery_status_counts(*, batch_pk: int | None = None) -> dict[str, int]:
    """Count deliveries by status, of one batch or of all: every status, 0 when it has none."""
    deliveries = Delivery.objects.all()
    if batch_pk is not None:
        deliveries = deliveries.filter(batch_id=batch_pk)
    # COUNT(*): read from the batch index alone (it carries the status), not from the table.
    counts = dict(deliveries.values_list("status").annotate(n=Count("*")).order_by())
    return {status: counts.get(status, 0) for status in DeliveryStatus.values}


def resent_count(*, batch_pk: int) -> int:
    """How many of a batch's ended deliveries an operator has re-sent (their re-sends carry
    the leads now): re-sends are few, so this reads them, never the batch's deliveries."""
    return Delivery.objects.filter(batch_id=batch_pk, resend_of__isnull=False).count()


def awaiting_operator(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """The failed ones an operator may still act on: not re-sent already, not erased."""
    return deliveries_resendable(deliveries.filter(status=DeliveryStatus.FAILED))


def batch_rejection_reasons(*, batch_pk: int, limit: int = 20) -> list[dict]:
    """The reasons receivers gave for rejecting a batch's deliveries, most frequent first."""
    rows = (
        Delivery.objects.filter(batch_id=batch_pk, status=DeliveryStatus.REJECTED)
        .values("rejected_reason")
        .annotate(count=Count("pk"))
        .order_by("-count", "rejected_reason")[:limit]
    )
    return [{"reason": row["rejected_reason"], "count": row["count"]} for row in rows]


def deliveries_resendable(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """Narrow to deliveries an operator may re-send: final, not re-sent already, not
    erased (their payload holds nulls in place of the person), and not cancelled while
    their request may still be on the wire (their sender's lease holds).

    Only the newest delivery of a chain is re-sent, so re-sending a batch twice, or a
    delivery and then its batch, never sends one lead twice.
    """
    resent = Delivery.objects.filter(resend_of=OuterRef("pk"))
    # Cancelled under a sender's lease, which its claim set next_attempt_at to: the sender
    # records its request (delivered, maybe) and clears the token before that lease ends.
    in_flight = Q(
        status=DeliveryStatus.CANCELLED, lease_token__isnull=False, next_attempt_at__gte=Now()
    )
    return (
        deliveries.filter(status__in=FINAL_STATUSES, erased_at__isnull=True)
        .exclude(in_flight)
        .exclude(Exists(resent))
    )


def deliveries_for_resend(
    *,
    batch_id: str | None = None,
    lead_id: str | None = None,
    status: str | None = DeliveryStatus.FAILED,
    since: datetime | None = None,
    until: datetime | None = None,
    customer: str | None = None,
    endpoint_pk: int | None = None,
    error: str | None = None,
    deliveries: QuerySet[Delivery] | None = None,
) -> QuerySet[Delivery]:
    """Deliveries matching every given filter (None = any) that may be re-sent.

    ``error`` matches the last error or the receiver's rejection reason (ignoring case);
    ``deliveries`` narrows the search first (a user's scope).
    """
    if deliveries is None:
        deliveries = Delivery.objects.all()
    if batch_id:
        deliveries = deliveries.filter(batch__batch_id=batch_id)
    if customer:
        deliveries = deliveries.filter(batch__customer__slug=customer)
    if endpoint_pk is not None:
        deliveries = deliveries.filter(customer_endpoint_id=endpoint_pk)
    if lead_id:
        deliveries = deliveries.filter(lead_key=lead_id)
    if status:
        deliveries = deliveries.filter(status=status)
    if since:
        deliveries = deliveries.filter(created_at__gte=since)
    if until:
        deliveries = deliveries.filter(created_at__lt=until)
    if error:
        deliveries = deliveries.filter(
            Q(last_error__icontains=error) | Q(rejected_reason__icontains=error)
        )
    return deliveries_resendable(deliveries).order_by("pk")


def resend_estimate(deliveries: QuerySet[Delivery]) -> list[dict]:
    """Per endpoint, how many of ``deliveries`` would go and at what rate, for a dry run.

    Each entry: {"endpoint" (pk or None), "url", "enabled", "count", "rate" (requests/s,
    0 = unlimited), "seconds" (count ÷ rate, None when unlimited)}. Deliveries with no
    customer endpoint (a batch's own URL) go at WEBHOOK_RATE_LIMIT.
    """
    counts = dict(deliveries.order_by().values_list("customer_endpoint").annotate(n=Count("pk")))
    endpoints = Endpoint.objects.in_bulk([pk for pk in counts if pk is not None])
    estimate = []
    for pk, count in sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or 0)):
        endpoint = endpoints.get(pk)
        if endpoint is not None:
            rate, url, enabled = float(endpoint.rate_limit), endpoint.url, endpoint.is_enabled
        elif pk is None:
            rate, url, enabled = float(settings.WEBHOOK_RATE_LIMIT), "", True
        else:  # removed since: the sender treats it as unlimited
            rate, url, enabled = 0.0, "", True
        estimate.append(
            {
                "endpoint": pk,
                "url": url,
                "enabled": enabled,
                "count": count,
                "rate": rate,
                "seconds": count / rate if rate > 0 else None,
            }
        )
    return estimate


# Of one lead's deliveries (fan-out, re-sends), the first of these statuses that any has
# speaks for the lead in exports: a receiver's verdict (`rejected`) comes right after `failed`.
LEAD_STATUS_ORDER = (
    "failed",
    "rejected",
    "retrying",
    "sending",
    "scheduled",
    "delivered",
    "cancelled",
)


def _lead_current(lead: OuterRef) -> QuerySet[Delivery]:
    """A lead's deliveries not re-sent: a re-send replaces its original."""
    return (
        Delivery.objects.filter(lead=lead)
        .order_by()
        .exclude(Exists(Delivery.objects.filter(resend_of=OuterRef("pk"))))
    )


def lead_webhook_status_is(status: str) -> Q:
    """Leads (filtered by pk) whose webhook_status (lead_webhook_summary's) is ``status``:
    a delivery not re-sent has it, and none has a status before it in LEAD_STATUS_ORDER."""
    current = _lead_current(OuterRef("pk"))
    before = LEAD_STATUS_ORDER[: LEAD_STATUS_ORDER.index(status)]
    return Exists(current.filter(status=status)) & ~Exists(current.filter(status__in=before))


def lead_webhook_summary(*, lead: OuterRef) -> dict[str, Subquery]:
    """Annotations that sum up each lead's deliveries, for the results CSV.

    A re-send replaces its original, so status and times follow the deliveries not re-sent
    (every endpoint's latest); attempts count every delivery's. `webhook_status` is the
    first of LEAD_STATUS_ORDER any has, `webhook_scheduled_for` their earliest due time,
    `webhook_sent_at` their last delivery once all are delivered, `webhook_attempts` the sum.
    """
    of_lead = Delivery.objects.filter(lead=lead).order_by().values("lead")
    current = _lead_current(lead).values("lead")
    rank = Case(
        *(When(status=status, then=Value(i)) for i, status in enumerate(LEAD_STATUS_ORDER)),
        output_field=IntegerField(),
    )
    status = current.annotate(rank=Min(rank)).annotate(
        summary=Case(
            *(When(rank=i, then=Value(status)) for i, status in enumerate(LEAD_STATUS_ORDER)),
            output_field=CharField(),
        )
    )
    sent = current.annotate(
        unsent=Count("pk", filter=~Q(status=DeliveryStatus.DELIVERED)),
        last=Max("delivered_at"),
    ).annotate(summary=Case(When(unsent=0, then=F("last"))))
    return {
        "webhook_status": Subquery(status.values("summary")),
        "webhook_scheduled_for": Subquery(current.annotate(first=Min("due_at")).values("first")),
        "webhook_sent_at": Subquery(sent.values("summary")),
        "webhook_attempts": Coalesce(
            Subquery(
                of_lead.annotate(total=Sum(F("attempts") + F("earlier_attempts"))).values("total")
            ),
            Value(0),
            output_field=IntegerField(),
        ),
    }


def lead_deliveries(*, lead_pk: int) -> list[dict]:
    """A lead's deliveries, oldest first: where each went (the URL last sent to) or will go
    (its endpoint's, its batch's, or WEBHOOK_URL for the default customer's others), and
    how it stands; `to` is empty when it has nowhere to go yet."""
    default_url = Value(settings.WEBHOOK_URL) if settings.WEBHOOK_URL else Value(None)
    rows = (
        Delivery.objects.filter(lead_id=lead_pk)
        .order_by("pk")
        .annotate(
            to=Coalesce(
                NullIf("endpoint", Value("")),
                "customer_endpoint__url",
                NullIf("batch__webhook_url", Value("")),
                Case(When(batch__customer__slug=DEFAULT_SLUG, then=default_url)),
                Value(""),
                output_field=CharField(),
            )
        )
        .values("pk", "msg_id", "status", "to", "attempts", "delivered_at", "resend_of_id")
    )
    return list(rows)


def deliveries_visible(*, user) -> QuerySet[Delivery]:
    """The deliveries of the batches ``user`` may see (the one rule: batches_visible)."""
    return Delivery.objects.filter(batch__in=batches_visible(user=user))


def batch_disabled_endpoints(*, batch_pk: int) -> list[dict]:
    """The disabled endpoints the batch's open deliveries wait for: pk, url, why, how many."""
    rows = (
        Delivery.objects.filter(
            batch_id=batch_pk, status__in=OPEN_STATUSES, customer_endpoint__is_enabled=False
        )
        .values(
            "customer_endpoint_id", "customer_endpoint__url", "customer_endpoint__disabled_reason"
        )
        .annotate(count=Count("pk"))
        .order_by("customer_endpoint__url")
    )
    return [
        {
            "pk": row["customer_endpoint_id"],
            "url": row["customer_endpoint__url"],
            "reason": row["customer_endpoint__disabled_reason"],
            "count": row["count"],
        }
        for row in rows
    ]


def batch_next_due(*, batch_pk: int, customer_pk: int, statuses: Sequence[str]) -> datetime | None:
    """When the batch's next delivery in ``statuses`` can go out (sendable_from), or None.

    Deliveries waiting behind a disabled endpoint go nowhere until it is enabled again:
    their due time, long past, is not the next time anything goes out.
    """
    due = (
        Delivery.objects.filter(batch_id=batch_pk, status__in=statuses)
        .exclude(customer_endpoint__is_enabled=False)
        .aggregate(at=Min("next_attempt_at"))["at"]
    )
    return None if due is None else sendable_from(customer_pk=customer_pk, due=due)


def sendable_from(*, customer_pk: int, due: datetime) -> datetime | None:
    """A due time as senders will keep it: none while nothing of the customer's can go out
    (sending paused, the customer inactive or without a secret), else no earlier than its
    delivery window opens or its daily cap allows."""
    if sending_paused():
        return None
    now = timezone.now()
    return customer_sends_from(
        customer_pk=customer_pk,
        due=due,
        now=now,
        delivered_today=lambda: delivered_since_by_customer(local_midnight(now)).get(
            customer_pk, 0
        ),
    )


def customers_held_past(moment: datetime) -> list[int]:
    """The customers none of whose deliveries can go out before ``moment``: held now by
    their delivery window or daily cap, and not let go before ``moment``."""
    now = timezone.now()
    held = delivery_limits(
        now=now, taken_today=lambda: taken_since_by_customer(local_midnight(now))
    ).held
    return [pk for pk in held if (sendable_from(customer_pk=pk, due=now) or moment) >= moment]


def taken_since_by_customer(since: datetime) -> dict[int, int]:
    """{customer pk: deliveries delivered since ``since``, or being sent now under a lease},
    what a daily cap counts as taken (a request under way may yet be delivered)."""
    taken = delivered_since_by_customer(since)
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.SENDING, lease_expires_at__gte=Now())
        .values("batch__customer_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        customer = row["batch__customer_id"]
        taken[customer] = taken.get(customer, 0) + row["n"]
    return taken


def delivered_since_by_customer(since: datetime) -> dict[int, int]:
    """{customer pk: deliveries delivered since ``since``}, for the daily caps."""
    rows = (
        Delivery.objects.filter(status=DeliveryStatus.DELIVERED, delivered_at__gte=since)
        .values("batch__customer_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["batch__customer_id"]: row["n"] for row in rows}
