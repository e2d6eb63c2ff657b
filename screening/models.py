"""The loaded TPS/CTPS register and the suppression list (keyed hashes, never plaintext)."""

from django.db import models


class TpsList(models.Model):
    """One load of the licensed TPS/CTPS file.

    A load writes its numbers under a new list and becomes current in one short transaction
    once complete, so screening sees the whole previous list or the whole new one.
    """

    source = models.CharField(max_length=255, help_text="The loaded file's name.")
    file_date = models.DateTimeField(
        help_text="The file's date (given when loaded, else the file's modification time): "
        "what leads show as tps_screened_at."
    )
    numbers = models.PositiveBigIntegerField(default=0, help_text="Numbers loaded.")
    bad_lines = models.PositiveIntegerField(default=0, help_text="Lines that were not numbers.")
    is_current = models.BooleanField(
        "current", default=False, help_text="The list screening reads; one at most."
    )
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "TPS list"
        ordering = ("-loaded_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=models.Q(is_current=True),
                name="screening_one_current_tps_list",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} ({self.file_date:%Y-%m-%d})"


class TpsNumber(models.Model):
    """A registered UK number: its E.164 digits without the plus (447911123456), as an integer
    (8 bytes a row on a register of tens of millions)."""

    tps_list = models.ForeignKey(TpsList, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveBigIntegerField()

    class Meta:
        # Not unique: a register's repeated line costs a row, where checking every number
        # for repeats would cost memory or time on tens of millions; look-ups read sets.
        indexes = [models.Index(fields=["tps_list", "number"], name="screening_tps_number")]

    def __str__(self) -> str:
        return f"+{self.number}"


class SuppressionKind(models.TextChoices):
    EMAIL = "email", "e-mail"
    PHONE = "phone", "phone"
    LEAD_ID = "lead_id", "lead id"
    POSTCODE = "postcode", "postcode"


class Suppression(models.Model):
    """A value no lead may carry: its keyed hash, for one customer or (empty) for all."""

    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Empty: suppressed for every customer.",
    )
    kind = models.CharField(max_length=10, choices=SuppressionKind.choices)
    value_hash = models.CharField(
        max_length=80,
        help_text="HMAC-SHA256 of the normalised value under the erasure key: the value itself "
        "is never stored.",
    )
    source = models.CharField(max_length=255, blank=True, help_text="The file it came from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["value_hash"], name="screening_suppression_hash")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "value_hash"],
                condition=models.Q(customer__isnull=False),
                name="screening_suppression_per_customer",
            ),
            models.UniqueConstraint(
                fields=["value_hash"],
                condition=models.Q(customer__isnull=True),
                name="screening_suppression_global",
            ),
        ]

    def __str__(self) -> str:
        scope = self.customer.slug if self.customer_id else "all customers"
        return f"{self.get_kind_display()} ({scope})"
