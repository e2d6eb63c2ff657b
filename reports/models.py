"""Reports have no tables: a proxy gives each one its place in the admin (Reports → ...)."""

from customers.models import Customer


class DeliveredLeads(Customer):
    class Meta:
        proxy = True
        verbose_name = "delivered leads"
        verbose_name_plural = "Delivered leads"
