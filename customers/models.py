"""Customers (the buyers of the leads), their webhook endpoints and signing secrets."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator, validate_email
from django.db import models

from customers.extra import SEND_EXTRA_ALL
from customers.windows import validate_window
from webhooks.validators import WEBHOOK_URL_MAX_LENGTH, validate_endpoint_url

DEFAULT_SLUG = "default"
SLUG_VALIDATOR = RegexValidator(
    r"^[a-z0-9-]{1,50}\Z", "A slug is 1-50 characters: lower-case letters, digits and hyphens."
)


def default_rate_limit() -> Decimal:
    """New endpoints take WEBHOOK_RATE_LIMIT (read when the endpoint is made, not at import)."""
    return Decimal(str(settings.WEBHOOK_RATE_LIMIT))


class Customer(models.Model):
    """A buyer of leads: every batch belongs to one, and its leads go to its endpoints.

    Policy fields left empty take the setting of the same name, so a deployment configured
    by environment behaves as before. The secret is kept readable: signing needs the key.
    """

    slug = models.CharField(
        max_length=50,
        unique=True,
        validators=[SLUG_VALIDATOR],
        help_text="Short name used by commands, the API and payloads: a-z, 0-9 and hyphens.",
    )
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="An inactive customer's uploads are refused and its deliveries held.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="customers",
        help_text="Staff who see and act on this customer's batches, unless they see all.",
    )
    secret = models.CharField(
        max_length=100, blank=True, editable=False, help_text="Current signing secret."
    )
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_valid_until = models.DateTimeField(null=True, blank=True, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    max_leads_per_day = models.PositiveIntegerField(
        "max leads per day",
        default=0,
        help_text="Data rows uploaded per day (from midnight, local time); 0 = no limit.",
    )
    max_open_batches = models.PositiveIntegerField(
        "max open batches",
        default=0,
        help_text="Batches pending or processing at once; 0 = no limit.",
    )
    alert_emails = models.CharField(
        "alert e-mails",
        max_length=1000,
        blank=True,
        help_text="Comma-separated addresses told when a batch fails or an endpoint is disabled.",
    )
    # Per-customer policy; empty means the setting of the same name applies.
    webhook_delay_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: WEBHOOK_DELAY_SECONDS."
    )
    consent_required = models.BooleanField(
        null=True, blank=True, help_text="Empty: CONSENT_REQUIRED."
    )
    dedupe_on_email = models.BooleanField(
        null=True, blank=True, help_text="Empty: DEDUPE_ON_EMAIL."
    )
    dedupe_on_phone = models.BooleanField(
        null=True, blank=True, help_text="Empty: DEDUPE_ON_PHONE."
    )
    min_age = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: MIN_AGE.")
    delivery_window = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_window],
        help_text="When deliveries may go out, e.g. 'Mon-Fri 09:00-20:00' (local time); "
        "empty: DELIVERY_WINDOW (unset: any time).",
    )
    max_deliveries_per_day = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Over it, deliveries wait for the next day; 0 = no limit; "
        "empty: MAX_DELIVERIES_PER_DAY (unset: no limit).",
    )
    send_extra = models.TextField(
        "send supplier columns",
        blank=True,
        default=SEND_EXTRA_ALL,
        help_text="Which of the file's own columns its payloads carry under 'extra': "
        "'all', 'none', or the headers, one per line; empty: all.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("slug",)
        permissions = (
            ("view_all_customers", "Can see every customer's batches and endpoints"),
            ("view_secret", "Can view a customer's signing secret"),
        )

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        # Checked here, not by a field validator, so the column needs no migration; a bad
        # address would otherwise only show up as an alert the mail server keeps refusing.
        bad = []
        for address in (a.strip() for a in self.alert_emails.split(",")):
            try:
                if address:
                    validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(
                {"alert_emails": f"Not an e-mail address: {', '.join(bad)[:200]}."}
            )


class Endpoint(models.Model):
    """A URL a customer's leads are delivered to; a customer may have several.

    Health rules only disable an endpoint; only an operator archives one, and archived
    endpoints get no new deliveries. The environment endpoint mirrors WEBHOOK_URL.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="endpoints")
    url = models.URLField(
        "URL",
        max_length=WEBHOOK_URL_MAX_LENGTH,
        validators=[validate_endpoint_url],
        help_text="Checked by the address rules when saved and again when sending.",
    )
    description = models.CharField(max_length=200, blank=True)
    is_enabled = models.BooleanField("enabled", default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Health, written by senders through customers.services: the rule disables an endpoint
    # whose every attempt has failed for ENDPOINT_DISABLE_AFTER_HOURS since failing_since.
    last_success_at = models.DateTimeField(
        "last success",
        null=True,
        blank=True,
        editable=False,
        help_text="When an attempt last succeeded (delivered, or rejected by the receiver).",
    )
    failing_since = models.DateTimeField(
        "failing since",
        null=True,
        blank=True,
        editable=False,
        help_text="The first failed attempt after the last success; empty while it succeeds.",
    )
    rate_limit = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        default=default_rate_limit,
        validators=[MinValueValidator(Decimal(0))],
        help_text="Requests per second across all workers; 0 = unlimited.",
    )
    is_archived = models.BooleanField("archived", default=False)
    is_environment = models.BooleanField(
        "from the environment",
        default=False,
        editable=False,
        help_text="Set from WEBHOOK_URL; change it there.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("customer", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_environment=True),
                name="customers_one_environment_endpoint",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer.slug}: {self.url}"
