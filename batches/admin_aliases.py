"""Operator console for header aliases: the other names files give the lead fields."""

from django.contrib import admin

from batches.admin_scope import AllCustomersOnlyMixin
from batches.models import HeaderAlias


@admin.register(HeaderAlias)
class HeaderAliasAdmin(AllCustomersOnlyMixin, admin.ModelAdmin):
    """Aliases apply from the next upload on; each edit is in the admin's history."""

    list_display = ("alias", "field", "updated_at")
    list_filter = ("field",)
    search_fields = ("alias", "key")
    fields = ("field", "alias", "key", "created_at", "updated_at")
    readonly_fields = ("key", "created_at", "updated_at")
    ordering = ("field", "alias")
