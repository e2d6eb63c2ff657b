"""Alert outbox: e-mails written with the event they report, sent after it commits."""

from django.db import models


class AlertKind(models.TextChoices):
    BATCH_FAILED = "batch_failed", "Batch failed"
    DELIVERIES_FAILED = "deliveries_failed", "Deliveries failed for good"
    ENDPOINT_DISABLED = "endpoint_disabled", "Endpoint disabled"


class Alert(models.Model):
    """One e-mail to send. Unsent ones (``sent_at`` empty) are retried by a periodic task."""

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    recipients = models.TextField(help_text="Comma-separated e-mail addresses.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Held by the process sending it until then, so a retrying sweep does not send it too.
    claimed_until = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="alert_unsent_idx",
            )
        ]

    def __str__(self) -> str:
        return self.subject


class AlertThrottle(models.Model):
    """When an alert of one key (e.g. failures of one endpoint) was last written.

    ``pending`` counts the events held back since then, reported by the next alert.
    """

    key = models.CharField(max_length=255, unique=True)
    last_at = models.DateTimeField()
    pending = models.PositiveIntegerField(default=0)
    about = models.CharField(max_length=500, blank=True, help_text="What the alerts are about.")
    recipients = models.TextField(blank=True, help_text="Of the held-back events' alert.")

    def __str__(self) -> str:
        return self.key
