"""Admin for API tokens: create (shown once), see last use, revoke.

Staff who do not see every customer make only tokens scoped to one of their customers, and
see only their own tokens (only superusers see everyone's).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import ngettext

from api.models import ApiToken
from customers.selectors import (
    customer_visible_to,
    customers_visible_to,
    user_sees_all_customers,
)


class ApiTokenCreateForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("name", "user", "customer")

    def clean(self):
        cleaned = super().clean()
        user, customer = cleaned.get("user"), cleaned.get("customer")
        if user is not None and customer is not None and not customer_visible_to(user, customer.pk):
            self.add_error(
                "customer",
                f"{user.get_username()} does not act for {customer}: make them a member of "
                "it first, or choose one of their customers.",
            )
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "customer",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    list_select_related = ("user", "customer")
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = {"user": request.user.pk}
        mine = list(customers_visible_to(request.user)[:2])
        if not user_sees_all_customers(request.user) and len(mine) == 1:
            initial["customer"] = mine[0].pk
        return initial

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "user", "customer")
        return ("name", "user", "customer", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # A token's owner and scope are fixed once made: a new scope is a new token.
        return ("user", "customer", *self.readonly_fields) if obj else ()

    def get_queryset(self, request):
        tokens = super().get_queryset(request)
        # Only administrators see everyone's tokens.
        return tokens if request.user.is_superuser else tokens.filter(user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not request.user.is_superuser:
            kwargs["queryset"] = get_user_model().objects.filter(pk=request.user.pk)
        scoped = db_field.name == "customer" and not user_sees_all_customers(request.user)
        if scoped:
            kwargs["queryset"] = customers_visible_to(request.user)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if scoped:
            # Fail closed: one who sees only some customers cannot make an unscoped token.
            field.required = True
            field.help_text = "Your tokens upload to, and see, one of your customers only."
        return field

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, plain = ApiToken.issue(name=obj.name, user=obj.user, customer=obj.customer)
        obj.pk = token.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            f"Token created. Copy it now, it will not be shown again: {plain}",
            messages.WARNING,
        )

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
            self.log_change(request, token, "Revoked.")
            count += 1
        self.message_user(
            request,
            ngettext("%d token revoked.", "%d tokens revoked.", count) % count,
            messages.SUCCESS,
        )
