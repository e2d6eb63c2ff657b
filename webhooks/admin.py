"""Operator console for webhooks: deliveries with their attempt log, re-send, cancel, pause."""

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import ngettext

from batches.admin_filters import BatchFilter
from batches.admin_scope import AllCustomersOnlyMixin, VisibleBatchesMixin
from valify.timefmt import console_time
from webhooks import admin_beat  # noqa: F401  (re-registers the periodic tasks)
from webhooks.admin_redrive import redrive_view, resends_log
from webhooks.models import OPEN_STATUSES, Delivery, DeliveryAttempt, WebhookControl
from webhooks.selectors import (
    awaiting_operator,
    sending_problems,
    sending_problems_for,
    webhook_control,
)
from webhooks.services import (
    batch_deliveries_cancel,
    batch_deliveries_resend,
    deliveries_cancel,
    deliveries_resend,
)

SWEEP_TASK = "webhooks.sweep"


def warn_sending_problems(request) -> None:
    """Show, as a banner, whatever keeps deliveries from being sent (naming only the
    customers the user may see). Only on showing a page: an action's POST redirects to
    the page, which would show it twice."""
    if request.method != "GET":
        return
    for problem in sending_problems_for(request.user):
        messages.warning(request, problem)


def cancel_batch_webhooks(modeladmin, request, queryset) -> None:
    """The batch action's body: cancel each batch's unsent webhooks (the batch stays as it
    is: a completed batch's leads stay validated, only their webhooks never go out)."""
    total = 0
    for batch in queryset:
        cancelled = batch_deliveries_cancel(
            batch_pk=batch.pk, reason="Cancelled by an operator with the batch's webhooks."
        )
        if cancelled:
            total += cancelled
            modeladmin.log_change(
                request,
                batch,
                ngettext("Cancelled %(n)d unsent webhook.", "Cancelled %(n)d unsent webhooks.",
                         cancelled) % {"n": cancelled},
            )  # fmt: skip
    message = ngettext(
        "%(n)d unsent webhook cancelled.", "%(n)d unsent webhooks cancelled.", total
    ) % {"n": total}
    modeladmin.message_user(request, message, messages.SUCCESS if total else messages.WARNING)


def resend_batch_webhooks(modeladmin, request, queryset, *, failed_only: bool) -> None:
    """The batch actions' body: re-send each batch's failed (or all finished) deliveries."""
    what = "failed" if failed_only else "finished"
    total = 0
    for batch in queryset:
        created = batch_deliveries_resend(batch=batch, failed_only=failed_only)
        if created:
            total += len(created)
            modeladmin.log_change(
                request,
                batch,
                ngettext(
                    "Re-sent %(n)d %(what)s webhook.",
                    "Re-sent %(n)d %(what)s webhooks.",
                    len(created),
                )
                % {"n": len(created), "what": what},
            )
    message = ngettext(
        "%(n)d webhook queued to be re-sent.", "%(n)d webhooks queued to be re-sent.", total
    ) % {"n": total}
    erased = Delivery.objects.filter(batch__in=queryset, erased_at__isnull=False).count()
    if erased:
        message += " " + ngettext(
            "%(n)d not re-sent: its person's data was erased (or the batch purged).",
            "%(n)d not re-sent: their people's data was erased (or the batch purged).",
            erased,
        ) % {"n": erased}
    modeladmin.message_user(request, message, messages.SUCCESS if total else messages.WARNING)


class DeliveryBatchFilter(BatchFilter):
    parameter_name = "batch__batch_id"  # what the batch page links with


class ResentFilter(admin.SimpleListFilter):
    title = "re-send"
    parameter_name = "resend"

    def lookups(self, request, model_admin):
        return [
            ("yes", "Re-sends by an operator"),
            ("no", "Original deliveries"),
            ("waiting", "Failed, waiting for an operator"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(resend_of__isnull=False)
        if self.value() == "no":
            return queryset.filter(resend_of__isnull=True)
        if self.value() == "waiting":  # the dashboard's figure: not re-sent yet, not erased
            return awaiting_operator(queryset)
        return queryset


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = (
        "number",
        "started_at",
        "duration_ms",
        "status_code",
        "response_excerpt",
        "error",
        "endpoint",
    )
    readonly_fields = fields
    ordering = ("started_at", "pk")  # in time: numbers restart after a health re-wait

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(VisibleBatchesMixin, admin.ModelAdmin):
    list_display = (
        "msg_id",
        "status",
        "destination",
        "attempts",
        "next_attempt",
        "lead_key",
        "batch",
        "created_at",
        "delivered_at",
    )
    list_filter = ("status", DeliveryBatchFilter, ResentFilter, "created_at")
    search_fields = ("=msg_id", "lead_key", "=batch__batch_id")
    list_select_related = ("batch", "customer_endpoint")
    show_full_result_count = False
    # Newest first by id, which follows creation and is indexed (alone, and after the
    # batch): by created_at, every page sorted the whole table (1.5 s at 3,000,000).
    ordering = ("-pk",)
    inlines = [DeliveryAttemptInline]
    actions = ["resend", "cancel"]
    fields = (
        "msg_id",
        "status",
        "batch",
        "lead",
        "lead_key",
        "customer_endpoint",
        "endpoint",
        "attempts",
        "earlier_attempts",
        "due_at",
        "next_attempt",
        "lease_expires_at",
        "last_status_code",
        "last_error",
        "rejected_reason",
        "delivered_at",
        "erased_at",
        "resend_of",
        "resent_as",
        "created_at",
        "updated_at",
        "payload_json",
    )
    readonly_fields = fields

    @admin.display(description="endpoint")
    def destination(self, obj: Delivery):
        """Where it was last sent, or where it is bound to go: a lead's copies to a customer's
        endpoints differ by this column from the start."""
        if obj.endpoint:
            return obj.endpoint
        if obj.customer_endpoint is not None:
            return f"{obj.customer_endpoint.url} (not sent yet)"
        if obj.batch.webhook_url:
            return f"{obj.batch.webhook_url} (not sent yet)"
        return "-"

    @admin.display(description="next attempt at", ordering="next_attempt_at")
    def next_attempt(self, obj: Delivery):
        """Blank once the delivery has ended: its last due time would read as a retry.
        (Formatted here: a read-only field shows what a method returns as it is.)"""
        if obj.status not in OPEN_STATUSES:
            return self.get_empty_value_display()
        return console_time(obj.next_attempt_at)

    @admin.display(description="payload")
    def payload_json(self, obj: Delivery):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False, sort_keys=True)
        )

    @admin.display(description="re-sent as")
    def resent_as(self, obj: Delivery):
        resend = obj.resends.first()
        if resend is None:
            return "-"
        url = reverse("admin:webhooks_delivery_change", args=[quote(resend.pk)])
        return format_html('<a href="{}">{}</a>', url, resend.msg_id)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the outbox is the audit of what was sent

    def has_resend_permission(self, request):
        return request.user.has_perm("webhooks.resend_delivery")

    def changelist_view(self, request, extra_context=None):
        warn_sending_problems(request)
        extra_context = {
            **(extra_context or {}),
            "can_redrive": self.has_resend_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view(lambda request: redrive_view(self, request))
        return [path("redrive/", view, name="webhooks_delivery_redrive"), *super().get_urls()]

    @admin.action(description="Re-send selected webhooks", permissions=["resend"])
    def resend(self, request, queryset):
        created = deliveries_resend(deliveries=queryset)
        resends_log(request, created)
        skipped = queryset.count() - len(created)
        message = ngettext(
            "%(n)d webhook queued to be re-sent.",
            "%(n)d webhooks queued to be re-sent.",
            len(created),
        ) % {"n": len(created)}
        if skipped:
            message += " " + ngettext(
                "%(n)d skipped (still on its way, re-sent already, or its person's data erased).",
                "%(n)d skipped (still on their way, re-sent already, or their people's data "
                "erased).",
                skipped,
            ) % {"n": skipped}
        self.message_user(request, message, messages.SUCCESS if created else messages.WARNING)

    @admin.action(description="Cancel selected webhooks", permissions=["resend"])
    def cancel(self, request, queryset):
        cancelled = deliveries_cancel(deliveries=queryset, in_flight=True)
        for delivery in Delivery.objects.filter(pk__in=cancelled):
            self.log_change(request, delivery, "Cancelled.")
        skipped = queryset.count() - len(cancelled)
        message = ngettext(
            "%(n)d webhook cancelled.", "%(n)d webhooks cancelled.", len(cancelled)
        ) % {"n": len(cancelled)}
        if skipped:
            message += " " + ngettext(
                "%(n)d skipped (sent, finished, or in flight).",
                "%(n)d skipped (sent, finished, or in flight).",
                skipped,
            ) % {"n": skipped}
        self.message_user(request, message, messages.SUCCESS if cancelled else messages.WARNING)


@admin.register(WebhookControl)
class WebhookControlAdmin(AllCustomersOnlyMixin, admin.ModelAdmin):
    """One switch: the list goes straight to the single row."""

    fields = ("paused", "sending_state", "updated_by", "updated_at", "sweep_ran_at", "sweep_task")
    readonly_fields = ("sending_state", "updated_by", "updated_at", "sweep_ran_at", "sweep_task")

    @admin.display(description="sending")
    def sending_state(self, obj: WebhookControl):
        problems = sending_problems()
        return " ".join(problems) if problems else "Sending: nothing is holding deliveries back."

    @admin.display(description="sweep schedule")
    def sweep_task(self, obj: WebhookControl):
        from django_celery_beat.models import PeriodicTask

        task = PeriodicTask.objects.filter(task=SWEEP_TASK).first()
        if task is None:
            return "No periodic task runs webhooks.sweep: run migrate."
        url = reverse("admin:django_celery_beat_periodictask_change", args=[quote(task.pk)])
        state = "" if task.enabled else " (disabled)"
        return format_html('<a href="{}">{}</a>{} — {}', url, task.name, state, task.schedule)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        control = webhook_control()
        return HttpResponseRedirect(
            reverse("admin:webhooks_webhookcontrol_change", args=[quote(control.pk)])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        webhook_control()  # the row exists before anyone opens it
        warn_sending_problems(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        obj.updated_at = timezone.now()
        # Only the switch: the sweep writes its heartbeat to this row at any time.
        obj.save(update_fields=["paused", "updated_by", "updated_at"])
