"""Alerts in the operator console: read-only, to see what was mailed and what is waiting."""

from django.contrib import admin

from alerts.models import Alert


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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
