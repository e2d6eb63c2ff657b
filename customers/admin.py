"""Customers and endpoints in the console: scoped lists, the secret (for a few), rotation."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from batches.admin_scope import AllCustomersOnlyMixin
from customers.admin_health import (
    HEALTH_COLUMNS,
    EndpointHealthColumns,
    EndpointHealthFormSet,
    endpoints_attach_figures,
)
from customers.endpoints import endpoint_disabled_by_operator, endpoint_reenabled
from customers.errors import CustomerRefused
from customers.models import Customer, Endpoint
from customers.secrets import secret_new, valid_secrets
from customers.selectors import customers_visible_to
from customers.services import customer_secret_rotate, endpoints_first_bind
from valify.timefmt import console_time
from webhooks.services.probe import endpoint_send_test
from webhooks.validators import WEBHOOK_URL_MAX_LENGTH

RATE_PRESETS = (1, 5, 10, 30, 60, 0)


class RatePresetInput(forms.NumberInput):
    """A number box offering the usual rates (0 = unlimited) while taking any other."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, value, {**(attrs or {}), "list": "rate-presets"})

    def render(self, name, value, attrs=None, renderer=None):
        options = format_html_join(
            "",
            '<option value="{}">{}</option>',
            ((rate, "unlimited" if rate == 0 else f"{rate}/s") for rate in RATE_PRESETS),
        )
        box = super().render(name, value, attrs, renderer)
        return format_html('{}<datalist id="rate-presets">{}</datalist>', box, options)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=WEBHOOK_URL_MAX_LENGTH, assume_scheme="https")

    class Meta:
        model = Endpoint
        fields = ("url", "description", "is_enabled", "rate_limit", "is_archived")
        widgets = {"rate_limit": RatePresetInput(attrs={"step": "0.01", "min": "0"})}

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and self.instance.is_environment and "url" in self.changed_data:
            raise ValidationError("This endpoint is set from WEBHOOK_URL: change it there.")
        return cleaned


class EndpointInline(EndpointHealthColumns, admin.TabularInline):
    model = Endpoint
    form = EndpointForm
    formset = EndpointHealthFormSet
    extra = 0
    readonly_fields = ("is_environment", *HEALTH_COLUMNS)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("customer")  # each row's title


def save_endpoint(obj: Endpoint, form, change: bool, *, bind: bool = True) -> None:
    """Save an endpoint from the admin as the services do: re-enabling follows the rule PATCH
    follows, and a customer's first endpoint takes its waiting deliveries (unless `bind` is
    false: the caller binds the endpoints it added together).

    A change writes only what the form changed (and what re-enabling resets): senders write
    the endpoint's health meanwhile, and a stale copy must not overwrite it.
    """
    if not change:
        obj.save()
        if bind:
            endpoints_first_bind([obj])
        return
    fields = [name for name in form.changed_data if name in EndpointForm.Meta.fields]
    if "is_enabled" in fields and obj.is_enabled:
        endpoint_reenabled(obj)
        fields += ["disabled_reason", "disabled_at", "failing_since"]
    elif "is_enabled" in fields:
        endpoint_disabled_by_operator(obj)
        fields += ["disabled_reason", "disabled_at"]
    if "url" in fields:  # a new receiver: the old one's record is not its own
        obj.failing_since = obj.last_success_at = None
        fields += ["failing_since", "last_success_at"]
    obj.save(update_fields=sorted(set(fields)))


class SettingOrYesNo(forms.NullBooleanSelect):
    """A policy switch left empty follows the setting of the same name (not "Unknown")."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("unknown", "Use the setting"), ("true", "Yes"), ("false", "No"))


@admin.register(Customer)
class CustomerAdmin(AllCustomersOnlyMixin, admin.ModelAdmin):
    list_display = ("slug", "name", "is_active", "max_leads_per_day", "max_open_batches")
    list_filter = ("is_active",)
    search_fields = ("slug", "name")
    inlines = [EndpointInline]
    filter_horizontal = ("members",)
    readonly_fields = ("secret_state",)
    actions = ["rotate_secret"]

    def get_queryset(self, request):
        return customers_visible_to(request.user)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.get_internal_type() == "BooleanField" and db_field.null:
            kwargs["widget"] = SettingOrYesNo
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Endpoint:
            return super().save_formset(request, form, formset, change)
        added = []
        for endpoint in formset.save(commit=False):
            inline_form = next(f for f in formset.forms if f.instance is endpoint)
            change = endpoint.pk is not None
            save_endpoint(endpoint, inline_form, change, bind=False)
            if not change:
                added.append(endpoint)
        for endpoint in formset.deleted_objects:
            endpoint.delete()
        formset.save_m2m()
        endpoints_first_bind(added)  # after all: the first ones added together share them

    def save_model(self, request, obj, form, change):
        if not change and not obj.secret:
            obj.secret = secret_new()  # customers made here always get a secret
        super().save_model(request, obj, form, change)

    @admin.display(description="signing secret")
    def secret_state(self, obj):
        if obj is None or not obj.pk:
            return "Made when the customer is saved."
        if not obj.secret:
            return "None yet: deliveries wait until WEBHOOK_SECRET is set or it is rotated."
        url = reverse("admin:customers_customer_secret", args=[quote(obj.pk)])
        return format_html(
            'Set. <a href="{}">Show the secret</a> (needs the permission to view secrets; '
            "each view is recorded in history).",
            url,
        )

    def get_urls(self):
        view = self.admin_site.admin_view(self.secret_view)
        secret = path("<path:object_id>/secret/", view, name="customers_customer_secret")
        return [secret, *super().get_urls()]

    def secret_view(self, request, object_id):
        if not request.user.has_perm("customers.view_secret"):
            raise PermissionDenied
        customer = self.get_queryset(request).filter(pk=object_id).first()
        if customer is None:
            raise Http404
        self.log_change(request, customer, "Viewed the signing secret.")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Signing secret of {customer.slug}",
            "customer": customer,
        }
        return TemplateResponse(request, "admin/customers/customer/secret.html", context)

    @admin.action(permissions=["change"], description="Rotate the signing secret")
    def rotate_secret(self, request, queryset):
        if request.POST.get("confirmed") != "yes":
            # Receivers verify with the secret: a rotation is asked about first, like a delete.
            return self._rotate_confirmation(request, queryset)
        for customer in queryset:
            try:
                plan = customer_secret_rotate(customer=customer)
            except CustomerRefused as refused:
                self.message_user(request, f"{customer.slug}: {refused.message}", messages.ERROR)
                continue
            self.log_change(request, customer, "Rotated the signing secret.")
            note = (
                " The one before the previous secret was dropped." if plan.dropped_previous else ""
            )
            until = plan.previous_valid_until
            self.message_user(
                request,
                f"{customer.slug}: new secret made; "
                + (
                    f"the previous one keeps signing until {console_time(until)}."
                    if until
                    else "there was no previous one."
                )
                + note,
                messages.WARNING if plan.dropped_previous else messages.SUCCESS,
            )

    def _rotate_confirmation(self, request, queryset):
        now = timezone.now()
        rows = [
            (
                customer,
                # The previous secret still signs: rotating again drops it at once.
                len(
                    valid_secrets(
                        current=customer.secret,
                        previous=customer.previous_secret,
                        previous_valid_until=customer.previous_valid_until,
                        now=now,
                    )
                )
                > 1,
            )
            for customer in queryset
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Rotate the signing secret?",
            "rows": rows,
            "hours": settings.WEBHOOK_SECRET_ROTATION_HOURS,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/customers/customer/rotate_confirm.html", context)


@admin.register(Endpoint)
class EndpointAdmin(EndpointHealthColumns, admin.ModelAdmin):
    form = EndpointForm
    list_display = (
        "url",
        "customer",
        *HEALTH_COLUMNS,
        "rate_limit",
        "is_archived",
        "is_environment",
    )
    # The customers of the endpoints the user sees: never another customer's name.
    list_filter = ("is_enabled", "is_archived", ("customer", admin.RelatedOnlyFieldListFilter))
    readonly_fields = ("is_environment", *HEALTH_COLUMNS, "last_success_at")
    actions = ("send_test_webhook",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(customer__in=customers_visible_to(request.user))

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        endpoints_attach_figures(changelist.result_list)  # the page's figures in one go
        return changelist

    def save_model(self, request, obj, form, change):
        save_endpoint(obj, form, change)

    @admin.action(description="Send test webhook", permissions=["change"])
    def send_test_webhook(self, request, queryset):
        for endpoint in queryset.select_related("customer"):
            report = endpoint_send_test(endpoint=endpoint)
            self.log_change(request, endpoint, str(report)[:500])  # every operator action
            self.message_user(
                request, str(report), messages.SUCCESS if report.ok else messages.ERROR
            )

    def get_fields(self, request, obj=None):
        fields = ["customer", *EndpointForm.Meta.fields]
        return fields + list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # An endpoint stays with its customer: its deliveries are signed with that
        # customer's secret. A receiver moving to another customer is a new endpoint there.
        fields = super().get_readonly_fields(request, obj)
        return ("customer", *fields) if obj is not None else fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "customer":
            kwargs["queryset"] = customers_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
