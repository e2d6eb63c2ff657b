"""A proxy gives each report its place in the admin (Reports → ...); the delivered leads
report keeps what a purged batch counted, as its lead rows go."""

from django.db import models

from customers.models import Customer


class DeliveredLeads(Customer):
    class Meta:
        proxy = True
        verbose_name = "delivered leads"
        verbose_name_plural = "Delivered leads"


class PurgedBatchFigures(models.Model):
    """What a batch's purged rows counted in the delivered leads report, per day and per
    month, added by each chunk of the purge as it deletes them: once the rows go they
    cannot be counted again, and a figure an invoice was made from must not change."""

    class Period(models.TextChoices):
        DAY = "day"
        MONTH = "month"

    batch = models.ForeignKey("batches.BatchJob", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=8, choices=Period.choices)
    at = models.DateTimeField(help_text="The start of the day or month, in TIME_ZONE.")
    validated = models.PositiveIntegerField(default=0, help_text="Valid leads validated.")
    delivered = models.PositiveIntegerField(default=0, help_text="Leads delivered.")

    class Meta:
        verbose_name_plural = "purged batch figures"
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "period", "at"], name="purgedfigures_batch_period_at"
            )
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.period} {self.at:%Y-%m-%d}"
