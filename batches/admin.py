"""Operator console for batches: upload form, progress, results export and re-driving."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

# Registered by being imported: the header aliases' and the mapping profiles' admins.
from batches import admin_aliases, admin_profiles  # noqa: F401
from batches.admin_scope import VisibleBatchesMixin, visible_batches_for
from batches.admin_upload import upload_view
from batches.exports import iter_results_csv
from batches.models import BatchFile, BatchJob
from batches.services import (
    batch_cancel,
    batch_force_complete,
    batch_reprocess,
    lead_data_record,
)
from leads.models import LeadValidation
from webhooks.admin import cancel_batch_webhooks, resend_batch_webhooks, warn_sending_problems
from webhooks.models import OPEN_STATUSES, Delivery, DeliveryStatus
from webhooks.selectors import deliveries_resendable

STATUS_COLOURS = {
    "pending": "#777",
    "processing": "#205493",
    "completed": "#2e7d32",
    "failed": "#ba2121",
    "cancelled": "#8a6d3b",
}


def _deliveries_count(statuses, *, awaiting: bool = False) -> Coalesce:
    """The number of a batch's deliveries in ``statuses``, as a column of the changelist query;
    with ``awaiting``, only those an operator may still act on (not re-sent, not erased).

    A correlated subquery is only evaluated for the page of batches shown; COUNT(*), not of
    the id, so PostgreSQL counts from the batch index (which carries the status) alone.
    """
    deliveries = Delivery.objects.filter(batch=OuterRef("pk"), status__in=statuses)
    if awaiting:
        deliveries = deliveries_resendable(deliveries)
    counted = deliveries.order_by().values("batch").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class BatchFileInline(admin.TabularInline):
    model = BatchFile
    extra = 0
    can_delete = False
    fields = ("position", "name", "size", "kind", "encoding", "delimiter", "row_count")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BatchJob)
class BatchJobAdmin(VisibleBatchesMixin, admin.ModelAdmin):
    batch_path = ""

    list_display = (
        "batch_id",
        "customer",
        "status_badge",
        "progress_bar",
        "counts_column",
        "deliveries_column",
        "created_by",
        "times_column",
    )
    list_filter = (
        "status",
        # The customers of the batches the user sees: never another customer's name.
        ("customer", admin.RelatedOnlyFieldListFilter),
        "created_at",
        ("created_by", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("batch_id", "files__name", "created_by__username")
    list_select_related = ("created_by", "customer")
    date_hierarchy = "created_at"
    inlines = [BatchFileInline]
    actions = [
        "export_results",
        "reprocess",
        "force_complete",
        "cancel",
        "resend_failed_webhooks",
        "resend_all_webhooks",
        "cancel_webhooks",
    ]
    readonly_fields = (
        "batch_id",
        "status",
        "progress_bar",
        "total_leads",
        "processed_leads",
        "valid_count",
        "invalid_count",
        "duplicate_count",
        "failed_count",
        "error",
        "customer",
        "webhook_url",
        "revalidate_existing",
        "created_by",
        "created_at",
        "started_at",
        "completed_at",
        "progress_at",
    )
    # Status, progress and counts are in the live panel at the top of the page.
    fields = (
        "batch_id",
        "customer",
        "error",
        "webhook_url",
        "revalidate_existing",
        "created_by",
        "created_at",
        "started_at",
        "completed_at",
        "progress_at",
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.annotate(
                deliveries_delivered=_deliveries_count([DeliveryStatus.DELIVERED]),
                deliveries_pending=_deliveries_count(OPEN_STATUSES),
                deliveries_failed=_deliveries_count([DeliveryStatus.FAILED], awaiting=True),
                deliveries_rejected=_deliveries_count([DeliveryStatus.REJECTED]),
            )
        return queryset

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: BatchJob):
        return format_html(
            '<span class="valify-badge" style="background:{};color:#fff;padding:2px 8px;'
            'border-radius:10px;white-space:nowrap">{}</span>',
            STATUS_COLOURS.get(obj.status, "#777"),
            obj.get_status_display(),
        )

    # Short headers and labelled counts: the cells wrap, the headers do not.
    @admin.display(description="leads")
    def counts_column(self, obj: BatchJob):
        return format_html(
            "{}&nbsp;valid, {}&nbsp;invalid, {}&nbsp;duplicate",
            obj.valid_count,
            obj.invalid_count,
            obj.duplicate_count,
        )

    @admin.display(description="webhooks")
    def deliveries_column(self, obj: BatchJob):
        url = reverse("admin:webhooks_delivery_changelist")
        pending = ",".join(OPEN_STATUSES)
        return format_html_join(
            ", ",
            '<a href="{}?batch__batch_id={}&amp;status__in={}" title="{}">{}&nbsp;{}</a>',
            [
                (url, obj.batch_id, "delivered", "delivered", obj.deliveries_delivered,
                 "delivered"),
                (url, obj.batch_id, pending, "scheduled, sending or retrying",
                 obj.deliveries_pending, "pending"),
                (url, obj.batch_id, "failed", "failed", obj.deliveries_failed, "failed"),
                # Only when there are: most batches have none, and the cell wraps.
                *[(url, obj.batch_id, "rejected", "refused by the receiver",
                   obj.deliveries_rejected, "rejected")] * bool(obj.deliveries_rejected),
            ],
        )  # fmt: skip

    @admin.display(description="uploaded", ordering="created_at")
    def times_column(self, obj: BatchJob):
        uploaded = date_format(timezone.localtime(obj.created_at), "j M H:i")
        if obj.completed_at is None:
            return format_html('<span style="white-space:nowrap">{}</span>', uploaded)
        took = (obj.completed_at - (obj.started_at or obj.created_at)).total_seconds()
        return format_html(
            '<span style="white-space:nowrap">{}</span><br>'
            '<span style="white-space:nowrap" title="finished {}">done in {}</span>',
            uploaded,
            date_format(timezone.localtime(obj.completed_at), "DATETIME_FORMAT"),
            f"{took:.0f} s" if took < 120 else f"{took / 60:.0f} min",
        )

    @admin.display(description="progress")
    def progress_bar(self, obj: BatchJob):
        return format_html(
            '<progress value="{}" max="100" style="width:4.5em"></progress> '
            '<span style="white-space:nowrap">{} of {}</span>',
            obj.progress,
            obj.processed_leads,
            obj.total_leads,
        )

    def has_add_permission(self, request):
        return request.user.has_perm("batches.upload_batch")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A batch's leads and deliveries are the record of what was sent, never deleted in
        # the console (they cannot be, one by one): an operator cancels a batch, erasure
        # removes a person, and retention (RETENTION_DAYS) purges old batches' rows and files.
        return False

    def has_export_permission(self, request):
        return request.user.has_perm("batches.export_batch") or request.user.has_perm(
            "batches.view_batchjob"
        )

    def has_reprocess_permission(self, request):
        return request.user.has_perm("batches.reprocess_batch")

    def has_resend_webhooks_permission(self, request):
        return request.user.has_perm("webhooks.resend_delivery")

    def changelist_view(self, request, extra_context=None):
        warn_sending_problems(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        warn_sending_problems(request)  # the batch's webhook panel alone would not say why
        return super().change_view(request, object_id, form_url, extra_context)

    def response_action(self, request, queryset):
        response = super().response_action(request, queryset)
        # An action started on a batch's page goes back to that page, not to the list.
        page = request.POST.get("_batch_page", "")
        if page.isdigit() and isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(reverse("admin:batches_batchjob_change", args=[page]))
        return response

    def add_view(self, request, form_url="", extra_context=None):
        """Replace the model form with the upload form: files, a mapping preview, confirm."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        return upload_view(self, request, extra_context)

    @admin.action(description="Export results CSV", permissions=["export"])
    def export_results(self, request, queryset):
        leads = LeadValidation.objects.filter(batch__in=queryset)
        rows = dict(
            leads.order_by().values("batch_id").annotate(n=Count("pk")).values_list("batch_id", "n")
        )
        for batch in queryset:
            lead_data_record(
                user=request.user,
                what="Exported the results CSV",
                rows=rows.get(batch.pk, 0),
                obj=batch,
                via="admin action",
            )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        name = queryset.first().batch_id if queryset.count() == 1 else f"batches_{stamp}"
        response = StreamingHttpResponse(
            (
                line.encode("utf-8")
                for line in iter_results_csv(leads, visible_batches=visible_batches_for(request))
            ),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}_results.csv"'
        return response

    @admin.action(description="Reprocess unfinished rows", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        started = 0
        for batch in queryset:
            if batch_reprocess(batch=batch) != []:
                started += 1
                self.log_change(request, batch, "Reprocessed unfinished rows.")
        _report(
            self, request, queryset, started,
            ngettext("%d batch put back to work.", "%d batches put back to work.", started),
            "only a pending, processing or failed batch can be reprocessed",
        )  # fmt: skip

    @admin.action(
        description="Force complete (mark unfinished rows failed)", permissions=["reprocess"]
    )
    def force_complete(self, request, queryset):
        done = 0
        for batch in queryset:
            if batch_force_complete(batch=batch):
                done += 1
                self.log_change(request, batch, "Force-completed.")
        _report(
            self, request, queryset, done,
            ngettext("%d batch force-completed.", "%d batches force-completed.", done),
            "only a processing or failed batch can be force-completed",
        )  # fmt: skip

    @admin.action(description="Cancel", permissions=["reprocess"])
    def cancel(self, request, queryset):
        done = 0
        for batch in queryset:
            if batch_cancel(batch=batch):
                done += 1
                self.log_change(request, batch, "Cancelled.")
        _report(
            self, request, queryset, done,
            ngettext("%d batch cancelled.", "%d batches cancelled.", done),
            "only a pending, processing or failed batch can be cancelled",
        )  # fmt: skip

    @admin.action(description="Re-send failed webhooks", permissions=["resend_webhooks"])
    def resend_failed_webhooks(self, request, queryset):
        resend_batch_webhooks(self, request, queryset, failed_only=True)

    @admin.action(description="Re-send all webhooks", permissions=["resend_webhooks"])
    def resend_all_webhooks(self, request, queryset):
        resend_batch_webhooks(self, request, queryset, failed_only=False)

    @admin.action(description="Cancel unsent webhooks", permissions=["resend_webhooks"])
    def cancel_webhooks(self, request, queryset):
        cancel_batch_webhooks(self, request, queryset)


def _report(model_admin, request, queryset, done: int, message: str, rule: str) -> None:
    """Say how many batches an action changed, and why the others were left as they were."""
    skipped = queryset.count() - done
    text = message % done
    if skipped:
        text += f" {skipped} left as {'it was' if skipped == 1 else 'they were'}: {rule}"
        text += " (and not once its rows are purged)."
    model_admin.message_user(request, text, messages.SUCCESS if done else messages.WARNING)
