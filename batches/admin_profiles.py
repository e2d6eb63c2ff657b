"""Operator console for mapping profiles: the column mappings operators chose to remember."""

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html, format_html_join

from batches.models import MappingProfile
from batches.reading.choices import IGNORE, KEEP
from batches.reading.headers import column_letter
from customers.selectors import customers_visible_to, user_sees_all_customers

_SHOWN = {KEEP: "kept as supplier column", IGNORE: "ignored"}


@admin.register(MappingProfile)
class MappingProfileAdmin(admin.ModelAdmin):
    """Profiles are made in the upload preview; here they are renamed or deleted.

    Staff scoped to customers see their customers' profiles and the shared ones, and change
    only their customers' own: a shared profile applies to every customer.
    """

    list_display = (
        "name",
        "customer_shown",
        "columns_summary",
        "created_by",
        "created_at",
        "updated_at",
    )
    list_select_related = ("created_by", "customer")
    search_fields = ("name",)
    fields = (
        "name",
        "customer_shown",
        "mapping_table",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    )
    readonly_fields = (
        "customer_shown",
        "mapping_table",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
    )

    def get_queryset(self, request):
        profiles = super().get_queryset(request)
        if user_sees_all_customers(request.user):
            return profiles
        return profiles.filter(
            Q(customer__in=customers_visible_to(request.user)) | Q(customer__isnull=True)
        )

    def has_add_permission(self, request):
        return False  # a profile is made from an upload's preview, where its columns are seen

    def has_change_permission(self, request, obj=None):
        return self._may_change(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_change(request, obj) and super().has_delete_permission(request, obj)

    def _may_change(self, request, obj) -> bool:
        shared = obj is not None and obj.customer_id is None
        return not shared or user_sees_all_customers(request.user)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="customer", ordering="customer__slug")
    def customer_shown(self, obj: MappingProfile) -> str:
        return obj.customer.slug if obj.customer_id else "every customer"

    @admin.display(description="columns")
    def columns_summary(self, obj: MappingProfile) -> str:
        fields = [choice for choice in obj.columns if choice not in _SHOWN]
        kept = obj.columns.count(KEEP)
        ignored = obj.columns.count(IGNORE)
        return f"{len(obj.columns)}: {', '.join(fields)}; {kept} kept, {ignored} ignored"

    @admin.display(description="mapping")
    def mapping_table(self, obj: MappingProfile):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (column_letter(index), header, _SHOWN.get(choice, choice))
                for index, (header, choice) in enumerate(zip(obj.headers, obj.columns, strict=True))
            ),
        )
        return format_html(
            '<table id="profile-mapping"><thead><tr><th>Column</th><th>Header</th>'
            "<th>Goes to</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )
