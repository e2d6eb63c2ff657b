"""Alerts in the operator console: read-only, to see what was mailed and what is waiting."""

from django.contrib import admin

from alerts.models import Alert
from customers.selectors import user_sees_all_customers


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("subject", "kind", "recipients", "created_at", "sent_at", "tries")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("subject",)
    fields = (
        "kind",
        "subject",
        "recipients",
        "body",
        "created_at",
        "sent_at",
        "tries",
        "last_error",
    )
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        # Alerts name every customer's batches and endpoints: not for staff scoped to some.
        return user_sees_all_customers(request.user) and super().has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return user_sees_all_customers(request.user) and super().has_delete_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
