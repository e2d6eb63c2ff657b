"""Screening in the operator console: the loaded TPS list, the suppression list and its upload."""

from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import ngettext

from batches.services.history import history_record
from customers.selectors import customers_visible_to, user_sees_all_customers
from screening.forms import SuppressionUploadForm
from screening.models import Suppression, TpsList
from screening.selectors import suppressions_of_value
from screening.services import SuppressionFileError, suppressions_import

_SHOWN = 10


@admin.register(TpsList)
class TpsListAdmin(admin.ModelAdmin):
    """Read-only: lists are loaded by `import_tps`, never edited by hand."""

    list_display = ("source", "file_date", "numbers", "bad_lines", "is_current", "loaded_at")
    readonly_fields = list_display

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    """Entries hold only keyed hashes, so they are added by uploading a file (the form above the
    list) and removed by deleting; staff scoped to customers see and change only theirs."""

    change_list_template = "admin/screening/suppression/change_list.html"
    list_display = ("kind", "scope", "source", "created_at")
    # Only the customers among the rows the user may see.
    list_filter = ("kind", ("customer", admin.RelatedOnlyFieldListFilter), "created_at")
    readonly_fields = ("customer", "kind", "value_hash", "source", "created_at")
    list_select_related = ("customer",)
    search_fields = ("value_hash",)  # shows the box; the search itself hashes the value
    search_help_text = (
        "A whole e-mail, phone, lead id or postcode: the list holds only keyed hashes, so is "
        "this value suppressed, and for whom?"
    )

    @admin.display(description="customer", ordering="customer__slug")
    def scope(self, obj):
        return obj.customer.slug if obj.customer_id else "(every customer)"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if user_sees_all_customers(request.user):
            return queryset
        return queryset.filter(customer__in=customers_visible_to(request.user))

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return suppressions_of_value(queryset, search_term), False

    def has_add_permission(self, request) -> bool:
        return False  # by upload only: a hash cannot be typed in

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def may_upload(self, request) -> bool:
        return request.user.has_perm("screening.add_suppression")

    def get_urls(self):
        view = self.admin_site.admin_view(self.upload_view)
        upload = path("upload/", view, name="screening_suppression_upload")
        return [upload, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {**(extra_context or {})}
        if self.may_upload(request):
            extra["upload_form"] = SuppressionUploadForm(user=request.user)
            extra["upload_url"] = reverse("admin:screening_suppression_upload")
        return super().changelist_view(request, extra_context=extra)

    def upload_view(self, request):
        if not self.may_upload(request):
            raise PermissionDenied
        form = SuppressionUploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            upload, customer = form.cleaned_data["file"], form.cleaned_data["customer"]
            try:
                report = suppressions_import(stream=upload, name=upload.name, customer=customer)
            except SuppressionFileError as refused:
                form.add_error("file", str(refused))
            else:
                self._report(request, report, upload.name, customer)
                return HttpResponseRedirect(reverse("admin:screening_suppression_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Upload suppressions",
            "upload_form": form,
            "upload_url": request.path,
        }
        return TemplateResponse(request, "admin/screening/suppression/upload.html", context)

    def _report(self, request, report, name, customer) -> None:
        scope = f"customer {customer.slug}" if customer else "every customer"
        summary = (
            ngettext("%(n)d value added", "%(n)d values added", report.added) % {"n": report.added}
            + f" for {scope} from {name} ({report.values - report.added} already there)."
        )
        history_record(
            user=request.user,
            model=Suppression,
            label=f"suppressions from {name}"[:200],
            action_flag=ADDITION,
            message=f"{summary} {report.bad_count} bad values.",
        )
        self.message_user(request, summary, messages.SUCCESS)
        if report.bad_count:
            where = "; ".join(f"line {line}: {why}" for line, why in report.bad_lines[:_SHOWN])
            more = f"; and {report.bad_count - _SHOWN} more" if report.bad_count > _SHOWN else ""
            self.message_user(
                request, f"{report.bad_count} skipped: {where}{more}.", messages.WARNING
            )
