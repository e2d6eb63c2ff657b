"""Operator console for leads: filters, search and the raw row, read-only."""

from django.contrib import admin

from leads.models import LeadOwner, LeadValidation


@admin.register(LeadValidation)
class LeadValidationAdmin(admin.ModelAdmin):
    list_display = (
        "lead_id",
        "first_name",
        "last_name",
        "dob",
        "status",
        "error_codes",
        "batch",
        "source_file",
        "row_number",
    )
    list_filter = ("status",)
    search_fields = ("lead_id", "first_name", "last_name", "email", "batch__batch_id")
    list_select_related = ("batch",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.opts.fields]

    @admin.display(description="errors")
    def error_codes(self, obj):
        return ", ".join(obj.errors or ())

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LeadOwner)
class LeadOwnerAdmin(admin.ModelAdmin):
    list_display = ("lead_id", "owner", "batch", "claimed_at")
    search_fields = ("lead_id",)
    raw_id_fields = ("owner", "batch")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
