"""Alert writes: record an alert with its event, send it after commit, retry unsent ones.

An alert is written in the transaction that records its event, so it exists exactly when
the event does, and sent by the same process once that commits. Mail trouble is logged and
retried by the periodic task; it never fails the caller.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.models import Alert, AlertKind, AlertThrottle

logger = logging.getLogger(__name__)

THROTTLE = timedelta(hours=1)  # at most one deliveries-failed alert per endpoint this often
MAX_TRIES = 20  # an alert the mail server refuses this often is left, logged, for an operator
RETRY_AFTER = timedelta(seconds=60)  # the sender's own try comes first; the sweep after that
SWEEP_LIMIT = 50


def alert_recipients(batch=None, *, customer=None) -> list[str]:
    """Who is told about a batch's (or a customer's) trouble: ALERT_EMAILS and the customer's
    own alert e-mails."""
    customer = customer or (batch.customer if batch is not None else None)
    own = customer.alert_emails.split(",") if customer is not None else []
    return [*settings.ALERT_EMAILS, *(address.strip() for address in own if address.strip())]


def alert_record(*, kind: str, subject: str, body: str, recipients: Iterable[str]) -> Alert | None:
    """Write an alert in the current transaction; it is sent right after the commit."""
    to = sorted({address.strip() for address in recipients if address and address.strip()})
    if not to:
        return None
    alert = Alert.objects.create(
        kind=kind, subject=subject[:255], body=body, recipients=",".join(to)
    )
    transaction.on_commit(partial(alert_send, pk=alert.pk))
    return alert


def alert_send(*, pk: int) -> bool:
    """Send one unsent alert; True when it went out. Never raises."""
    try:
        now = timezone.now()
        lease = timedelta(seconds=2 * float(settings.EMAIL_TIMEOUT) + 5)
        claimed = (
            Alert.objects.filter(pk=pk, sent_at__isnull=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_until=now + lease, tries=F("tries") + 1)
        )
        if not claimed:
            return False
        alert = Alert.objects.get(pk=pk)
    except Exception:
        logger.exception("alerts.claim_failed", extra={"alert_id": pk})
        return False
    try:
        # Blind copies: a customer's addresses and the operators' never see each other.
        EmailMessage(
            alert.subject,
            alert.body,
            settings.DEFAULT_FROM_EMAIL,
            bcc=alert.recipients.split(","),
        ).send(fail_silently=False)
    except Exception as exc:
        logger.warning("alerts.send_failed", extra={"alert_id": pk, "error": repr(exc)[:500]})
        _note(pk, claimed_until=None, last_error=f"{type(exc).__name__}: {exc}"[:1000])
        return False
    _note(pk, sent_at=timezone.now(), claimed_until=None, last_error="")
    logger.info("alerts.sent", extra={"alert_id": pk, "kind": alert.kind})
    return True


def _note(pk: int, **fields) -> None:
    try:
        Alert.objects.filter(pk=pk).update(**fields)
    except Exception:
        logger.exception("alerts.note_failed", extra={"alert_id": pk})


def alerts_send_unsent(*, limit: int = SWEEP_LIMIT) -> dict[str, int]:
    """Write the held-back alerts now due, then retry unsent alerts. Never raises."""
    stats = {"written": 0, "sent": 0, "unsent": 0}
    try:
        stats["written"] = _held_back_alerts_write()
        before = timezone.now() - RETRY_AFTER
        pks = list(
            Alert.objects.filter(sent_at__isnull=True, created_at__lte=before, tries__lt=MAX_TRIES)
            .order_by("created_at")
            .values_list("pk", flat=True)[:limit]
        )
    except Exception:
        logger.exception("alerts.sweep_failed")
        return stats
    for pk in pks:
        stats["sent" if alert_send(pk=pk) else "unsent"] += 1
    return stats


def batch_failed_alert(*, batch, reason: str) -> Alert | None:
    """Tell the batch's recipients that it failed (call in the transaction that fails it)."""
    return alert_record(
        kind=AlertKind.BATCH_FAILED,
        subject=f"Batch {batch.batch_id} failed",
        body=(
            f"Batch {batch.batch_id} failed.\n\nReason: {reason}\n"
            f"Rows: {batch.total_leads}, of which {batch.processed_leads} were processed.\n"
        ),
        recipients=alert_recipients(batch),
    )


def endpoint_disabled_alert(
    *, url: str, customer: str, reason: str, recipients: Iterable[str]
) -> Alert | None:
    """Tell an endpoint's recipients that it was disabled, and why; `customer` names whose it
    is (operators look after several customers' endpoints)."""
    return alert_record(
        kind=AlertKind.ENDPOINT_DISABLED,
        subject=f"Webhook endpoint of {customer} disabled: {url}"[:255],
        body=(
            f"The webhook endpoint {url} of {customer} was disabled.\n\nReason: {reason}\n\n"
            "Its deliveries wait, using no attempt, until an operator enables it again.\n"
        ),
        recipients=recipients,
    )


def deliveries_failed_alert(
    *, url: str, count: int, recipients: Iterable[str], customer_pk: int | None = None
) -> Alert | None:
    """Report ``count`` deliveries of customer ``customer_pk`` to ``url`` failed for good: one
    e-mail per customer and URL per hour.

    Failures within the hour after an alert are counted and reported by the next one
    (or by the periodic task once the hour is over).
    """
    if count <= 0:
        return None
    recipients = sorted(set(recipients))
    if not recipients:
        return None
    now = timezone.now()
    key = f"deliveries_failed:{customer_pk or ''}:" + hashlib.sha256(url.encode()).hexdigest()
    with transaction.atomic():
        row, created = AlertThrottle.objects.select_for_update().get_or_create(
            key=key, defaults={"last_at": now, "about": url[:500]}
        )
        if not created and row.last_at > now - THROTTLE:
            AlertThrottle.objects.filter(pk=row.pk).update(
                pending=F("pending") + count, recipients=",".join(recipients)
            )
            return None
        total = count + (0 if created else row.pending)
        AlertThrottle.objects.filter(pk=row.pk).update(last_at=now, pending=0)
        return _deliveries_failed_record(
            url=url, count=total, recipients=recipients, customer_pk=customer_pk
        )


def _deliveries_failed_record(
    *, url: str, count: int, recipients: Iterable[str], customer_pk: int | None
) -> Alert | None:
    plural = "delivery" if count == 1 else "deliveries"
    # Whose: two customers may share a receiver's URL, each told only of its own.
    whose = _customer_label(customer_pk)
    of = f" of {whose}" if whose else ""
    return alert_record(
        kind=AlertKind.DELIVERIES_FAILED,
        subject=f"{count} webhook {plural}{of} failed for good: {url}"[:255],
        body=(
            f"{count} webhook {plural}{of} to {url} failed for good (every retry used, or "
            "the endpoint refused) since the last alert about it.\n\n"
            "They stay failed until they are re-sent (by Valify's operators: the Webhook "
            "deliveries list, its Re-drive page, or manage.py resend_webhooks).\n"
            "At most one such e-mail is sent per customer and endpoint per hour.\n"
        ),
        recipients=recipients,
    )


def _customer_label(customer_pk: int | None) -> str:
    from customers.models import Customer  # customers' services send alerts: read lazily

    if customer_pk is None:
        return ""
    found = Customer.objects.filter(pk=customer_pk).values_list("name", "slug").first()
    return f"{found[0]} ({found[1]})" if found else ""


def _throttled_customer(key: str) -> int | None:
    """The customer pk in a deliveries-failed throttle key (deliveries_failed:<pk>:<hash>)."""
    pk = key.split(":")[1] if key.count(":") >= 2 else ""
    return int(pk) if pk.isdigit() else None


def _held_back_alerts_write() -> int:
    """Alerts for failures held back by the throttle, once their hour is over."""
    now = timezone.now()
    written = 0
    due = AlertThrottle.objects.filter(pending__gt=0, last_at__lte=now - THROTTLE)
    for pk in due.values_list("pk", flat=True)[:SWEEP_LIMIT]:
        with transaction.atomic():
            row = (
                AlertThrottle.objects.select_for_update()
                .filter(pk=pk, pending__gt=0, last_at__lte=now - THROTTLE)
                .first()
            )
            if row is None:
                continue
            AlertThrottle.objects.filter(pk=pk).update(last_at=now, pending=0)
            recipients = [r for r in row.recipients.split(",") if r]
            if _deliveries_failed_record(
                url=row.about,
                count=row.pending,
                recipients=recipients,
                customer_pk=_throttled_customer(row.key),
            ):
                written += 1
    return written
