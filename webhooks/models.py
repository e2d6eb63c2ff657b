"""Webhook outbox: one delivery per lead per send, and a log of every attempt."""

from django.conf import settings
from django.db import models

from webhooks.fields import PayloadField
from webhooks.signing import new_message_id  # the field's default (named in migrations)


class DeliveryStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


# Waiting for their next attempt: the first one, or a retry after a failed one.
DUE_STATUSES = (DeliveryStatus.SCHEDULED, DeliveryStatus.RETRYING)
# Not final: due, or `sending` under a lease (claimed again once it lapses). The sweep claims
# these; the open-due index's condition names them in this order.
OPEN_STATUSES = (DeliveryStatus.SCHEDULED, DeliveryStatus.SENDING, DeliveryStatus.RETRYING)
# Final: nothing more happens to these unless an operator re-sends them.
FINAL_STATUSES = (
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.REJECTED,
    DeliveryStatus.CANCELLED,
)


class Delivery(models.Model):
    """A webhook to send, with its retry state in columns rather than in a task countdown.

    The payload is frozen at creation; the endpoint is resolved when the delivery is claimed.
    `lease_token` fences outcomes: a worker records a result only while its token still holds.
    """

    msg_id = models.CharField("webhook id", max_length=40, default=new_message_id, editable=False)
    # Deliveries are written in bulk by chunks; per-row foreign-key triggers doubled the cost
    # of that write, so these links are kept by Django (on_delete) rather than the database.
    batch = models.ForeignKey(
        "batches.BatchJob",
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,  # delivery_batch_idx starts with it
    )
    lead = models.ForeignKey(
        "leads.LeadValidation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_constraint=False,
    )
    lead_key = models.CharField("lead id", max_length=255, blank=True)
    payload = PayloadField(help_text="The body, frozen when the delivery was created.")
    status = models.CharField(
        max_length=16,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.SCHEDULED,
    )
    endpoint = models.URLField(max_length=500, blank=True, help_text="Where it was last sent.")
    due_at = models.DateTimeField(help_text="When it was first due.")
    next_attempt_at = models.DateTimeField(help_text="When it is next due.")
    attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts made before its retry schedule restarted (its endpoint disabled, then
    # re-enabled: `attempts` starts again from 0): the lead's webhook_attempts count them too.
    earlier_attempts = models.PositiveIntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text="Attempts made before its endpoint was disabled and its retries restarted.",
    )
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # A database default too: chunks write deliveries by COPY, naming only their columns.
    rejected_reason = models.TextField(
        blank=True,
        default="",
        db_default="",
        help_text="Why the receiver refused the lead, in its own words.",
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the person's values were blanked (erasure or retention): never re-sent.",
    )
    # Which of the customer's endpoints this copy of the lead goes to; null for a batch's own
    # webhook_url, or while the customer has no endpoint. `endpoint` keeps the URL sent to.
    customer_endpoint = models.ForeignKey(
        "customers.Endpoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_constraint=False,
    )
    resend_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resends",
        db_index=False,
        help_text="The delivery an operator re-sent.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            # A constraint rather than unique=True: no extra LIKE index on PostgreSQL.
            models.UniqueConstraint(fields=["msg_id"], name="delivery_msg_id_unique"),
            # Only the newest delivery of a chain is re-sent: two operators re-sending the
            # same delivery at once create one new delivery, not two.
            models.UniqueConstraint(
                fields=["resend_of"],
                condition=models.Q(resend_of__isnull=False),
                name="delivery_resend_of_unique",
            ),
        ]
        indexes = [
            # A batch's deliveries newest first (the delivery list filtered by batch), and
            # their counts by status read from the index alone, the status being carried in
            # it (the batch list shows three per batch: with the batch alone indexed, each
            # count read every delivery of the batch from the table, 23 s for a page of 30
            # batches of 100,000 leads).
            models.Index(fields=["batch", "id"], include=["status"], name="delivery_batch_idx"),
            # Deliveries delivered since a time (daily caps, read by senders every page; the
            # dashboard; reports), and those that ended failed or rejected (the dashboard,
            # reports): partial, so the claims' and sends' other updates add no entry.
            models.Index(
                fields=["delivered_at"],
                condition=models.Q(delivered_at__isnull=False),
                name="delivery_delivered_at_idx",
            ),
            models.Index(
                fields=["status", "updated_at"],
                condition=models.Q(status__in=["failed", "rejected"]),
                name="delivery_ended_idx",
            ),
            # Claims walk open deliveries in due order; finished ones (most rows) stay out.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=OPEN_STATUSES),
                name="delivery_open_due_idx",
            ),
        ]
        permissions = [("resend_delivery", "Can re-send and cancel webhooks")]

    def __str__(self) -> str:
        return self.msg_id


class DeliveryAttempt(models.Model):
    """One HTTP attempt of a delivery."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    endpoint = models.URLField(max_length=500)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, help_text="First 1 KB of the response body.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"{self.delivery_id}#{self.number}"


class WebhookControl(models.Model):
    """The one row of operator switches for sending, and the sweep's heartbeat.

    A singleton (pk 1, enforced by a constraint): while `paused` is set no delivery is
    claimed, so nothing is sent and no attempt is used. The sweep writes `sweep_ran_at` on
    every run: beat saves its own clock only every few minutes, and this shows that beat
    and a worker are alive.
    """

    SINGLETON_PK = 1

    paused = models.BooleanField(
        "pause all sending",
        default=False,
        help_text="While set, no webhook is sent; due deliveries wait and use no attempt.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="Who last changed the switch.",
    )
    updated_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the switch last changed."
    )
    sweep_ran_at = models.DateTimeField(
        "last sweep",
        null=True,
        blank=True,
        editable=False,
        help_text="When the webhooks.sweep task last ran (its heartbeat).",
    )

    class Meta:
        verbose_name = "webhook sending switch"
        verbose_name_plural = "webhook sending switch"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="webhookcontrol_singleton")
        ]

    def __str__(self) -> str:
        return "Webhook sending: paused" if self.paused else "Webhook sending: on"
