"""The leads list's filters: by error code, and by the state of the lead's webhook."""

from django.contrib import admin
from django.db.models import Exists, OuterRef

from leads.rules import ERROR_MESSAGES
from webhooks.models import Delivery, DeliveryStatus
from webhooks.selectors import LEAD_STATUS_ORDER, lead_webhook_status_is


class ErrorCodeFilter(admin.SimpleListFilter):
    title = "error code"
    parameter_name = "error"

    def lookups(self, request, model_admin):
        return [(code, code) for code in ERROR_MESSAGES]

    def queryset(self, request, queryset):
        if self.value():
            # The JSON text holds each code in quotes, so this matches whole codes only.
            return queryset.filter(errors__icontains=f'"{self.value()}"')
        return queryset


class DeliveryStatusFilter(admin.SimpleListFilter):
    title = "webhook status"
    parameter_name = "webhook"

    def lookups(self, request, model_admin):
        return [("none", "No webhook"), *DeliveryStatus.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value == "none":
            return queryset.filter(~Exists(Delivery.objects.filter(lead=OuterRef("pk"))))
        if value not in LEAD_STATUS_ORDER:
            return queryset.none()
        # As the lead's webhook_status reads (results CSV): a re-sent original is replaced.
        return queryset.filter(lead_webhook_status_is(value))
