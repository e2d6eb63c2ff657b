"""Operator console for leads: filters, search, CSV export of a selection, the raw row, erasure."""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from batches.admin_filters import BatchFilter
from batches.admin_scope import VisibleBatchesMixin, visible_batches_for
from batches.exports import ANOTHER_CUSTOMER, iter_results_csv
from batches.selectors import batches_visible
from batches.services import ErasureRefused, lead_data_record, person_erase
from customers.selectors import user_sees_all_customers
from leads.admin_filters import DeliveryStatusFilter, ErrorCodeFilter
from leads.models import LeadContactClaim, LeadOwner, LeadStatus, LeadValidation
from leads.rules import dob_text, message_for
from standardiser.display import AiOutcomeFilter, ai_summary_html
from webhooks.selectors import lead_deliveries

# A list in a read-only field, level with the other values (the admin's form CSS indents a
# list by the width of the labels).
_LIST = '<ul style="margin: 0; padding: 0">{}</ul>'


@admin.register(LeadValidation)
class LeadValidationAdmin(VisibleBatchesMixin, admin.ModelAdmin):
    list_display = (
        "lead_id",
        "first_name",
        "last_name",
        "date_of_birth",
        "status",
        "error_codes",
        "batch",
        "source",
    )
    # A lead without a lead id (a name or date missing) is reached by its first name too.
    list_display_links = ("lead_id", "first_name")
    list_filter = ("status", ErrorCodeFilter, DeliveryStatusFilter, AiOutcomeFilter, BatchFilter)
    search_fields = ("=lead_id", "lead_id", "first_name", "last_name", "email", "=reference")
    list_select_related = ("batch",)
    show_full_result_count = False
    actions = ["export_csv", "erase_person"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "lead_id",
                    "status",
                    "error_list",
                    "failure_reason",
                    "duplicate_holder",
                    "validated_at",
                )
            },
        ),
        (
            "Lead",
            {
                "fields": (
                    "first_name",
                    "last_name",
                    "dob",
                    "email",
                    "phone",
                    "company",
                    "website",
                    "postcode",
                    "reference",
                )
            },
        ),
        ("Consent", {"fields": ("consent_at", "consent_source", "consent_text")}),
        ("Webhooks", {"fields": ("webhooks",)}),
        ("Enrichment", {"fields": ("enrichment_steps",)}),
        ("AI standardiser", {"fields": ("ai_summary",)}),
        (
            "Source",
            {
                "fields": (
                    "batch",
                    "source_file",
                    "worksheet",
                    "row_number",
                    "malformed",
                    "supplier_columns",
                    "raw_row",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def get_object(self, request, object_id, from_field=None):
        lead = super().get_object(request, object_id, from_field)
        if lead is not None and lead.duplicate_of_id:
            # Fail closed: a holder in a batch the user may not see is only "another customer".
            visible = visible_batches_for(request)
            holder_batch = LeadValidation.objects.filter(pk=lead.duplicate_of_id).values("batch")
            lead.duplicate_shown = visible is None or visible.filter(pk__in=holder_batch).exists()
        if lead is not None:
            lead.delivery_links = request.user.has_perm("webhooks.view_delivery")
        return lead

    @admin.display(description="duplicate of")
    def duplicate_holder(self, obj):
        if not obj.duplicate_of_id:
            return self.get_empty_value_display()
        if not getattr(obj, "duplicate_shown", False):
            return ANOTHER_CUSTOMER
        url = reverse("admin:leads_leadvalidation_change", args=[obj.duplicate_of_id])
        holder = obj.duplicate_of
        if holder.batch_id != obj.batch_id and holder.status == LeadStatus.INVALID:
            # A supplier's corrected row is the same person: it is validated only when asked.
            return format_html(
                '<a href="{}">{}</a> (batch {}, invalid there: upload this file again with '
                "“Re-validate existing leads” to validate this lead)",
                url,
                holder,
                holder.batch.batch_id,
            )
        return format_html('<a href="{}">{}</a>', url, holder)

    @admin.display(description="deliveries")
    def webhooks(self, obj):
        """Each delivery of the lead: its webhook id (linked for who may open it), status,
        attempts and where it goes."""
        rows = lead_deliveries(lead_pk=obj.pk)
        if not rows:
            return "None: duplicates get no webhook, and other leads get theirs once validated."
        links = getattr(obj, "delivery_links", False)
        return format_html(
            _LIST,
            format_html_join(
                "",
                "<li>{} {}, {} attempt{}{}, to {}</li>",
                (
                    (
                        format_html(
                            '<a href="{}"><code>{}</code></a>',
                            reverse("admin:webhooks_delivery_change", args=[row["pk"]]),
                            row["msg_id"],
                        )
                        if links
                        else format_html("<code>{}</code>", row["msg_id"]),
                        row["status"],
                        row["attempts"],
                        "" if row["attempts"] == 1 else "s",
                        " (a re-send)" if row["resend_of_id"] else "",
                        row["to"] or "no endpoint yet",
                    )
                    for row in rows
                ),
            ),
        )

    @admin.display(description="date of birth", ordering="dob")
    def date_of_birth(self, obj):
        """dd/mm/yyyy, or the cell as given when it was not a date (dob_unparseable)."""
        return dob_text(obj.dob, obj.dob_raw) or "–"

    @admin.display(description="source", ordering="seq")
    def source(self, obj):
        where = obj.source_file + (f" › {obj.worksheet}" if obj.worksheet else "")
        return f"{where}, row {obj.row_number}"

    @admin.display(description="errors")
    def error_codes(self, obj):
        return ", ".join(obj.errors or ()) or "–"

    @admin.display(description="validation errors")
    def error_list(self, obj):
        if not obj.errors:
            return "–"
        return format_html(
            _LIST,
            format_html_join(
                "", "<li><code>{}</code>: {}</li>", ((c, message_for(c)) for c in obj.errors)
            ),
        )

    @admin.display(description="steps")
    def enrichment_steps(self, obj):
        """Each step's status, then its facts by name (`-` for one that was not found); a
        skipped or failed step shows only what it has (its reason), not its null keys."""
        if not obj.enrichment:
            return "–"
        return format_html(
            _LIST,
            format_html_join(
                "",
                "<li><code>{}</code> {}{}</li>",
                (
                    (step, result.get("status", ""), _step_facts(result))
                    for step, result in obj.enrichment.items()
                ),
            ),
        )

    @admin.display(description="AI standardiser")
    def ai_summary(self, obj):
        return ai_summary_html(obj.ai)

    @admin.display(description="supplier columns")
    def supplier_columns(self, obj):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.extra or {}, ensure_ascii=False, indent=2)
        )

    @admin.display(description="raw row")
    def raw_row(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.raw or {}, ensure_ascii=False, indent=2))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_export_permission(self, request):
        return request.user.has_perm("batches.export_batch")

    def has_erase_permission(self, request):
        return request.user.has_perm("leads.erase_lead")

    @admin.action(description="Export selected leads as CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        lead_data_record(
            user=request.user,
            what="Exported selected leads as CSV",
            rows=queryset.count(),
            model=LeadValidation,
            via="admin action",
        )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(
            (
                line.encode("utf-8")
                for line in iter_results_csv(queryset, visible_batches=visible_batches_for(request))
            ),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="leads_{stamp}.csv"'
        return response

    @admin.action(description="Erase this person's data", permissions=["erase"])
    def erase_person(self, request, queryset):
        """Erase each selected row's person (by lead id, else by e-mail), after a confirmation."""
        people, skipped = _people(queryset)
        everywhere = user_sees_all_customers(request.user)
        if request.POST.get("post") != "yes":
            context = {
                "everywhere": everywhere,
                **self.admin_site.each_context(request),
                "title": "Erase personal data",
                "opts": self.model._meta,
                "queryset": queryset,
                "people": [lead_id or email for lead_id, email in people],
                "skipped": skipped,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            }
            request.current_app = self.admin_site.name
            return TemplateResponse(
                request, "admin/leads/leadvalidation/erase_confirmation.html", context
            )
        erased = rows = deliveries = 0
        # Someone who sees every customer erases everywhere, as the command does; anyone
        # else only within their customers' batches, never another customer's copy.
        within = None if everywhere else batches_visible(user=request.user)
        for lead_id, email in people:
            try:
                report = person_erase(
                    user=request.user,
                    lead_id=lead_id,
                    email=email,
                    batches=within,
                    via="admin action",
                )
            except ErasureRefused as reason:
                self.message_user(request, str(reason), messages.ERROR)
                continue
            erased += 1
            rows += report.leads
            deliveries += report.deliveries
        if erased:
            self.message_user(
                request,
                ngettext(
                    "Erased %(people)d person: %(rows)d lead rows, %(deliveries)d deliveries.",
                    "Erased %(people)d people: %(rows)d lead rows, %(deliveries)d deliveries.",
                    erased,
                )
                % {"people": erased, "rows": rows, "deliveries": deliveries}
                + (
                    ""
                    if everywhere
                    else " Only your customers' copies were erased: another customer's copy of"
                    " the same person is theirs to erase (or ask someone who sees every customer)."
                ),
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%d row has no lead id or e-mail address to erase by; left alone.",
                    "%d rows have no lead id or e-mail address to erase by; left alone.",
                    skipped,
                )
                % skipped,
                messages.WARNING,
            )
        return None


def _people(queryset) -> tuple[list[tuple[str, str]], int]:
    """The distinct people of the selected rows as (lead id, "") or ("", e-mail); and the rest.

    A row is erased by its lead id; one without a lead id by its e-mail address; one with
    neither cannot be matched to anyone else and is counted as skipped.
    """
    people: dict[tuple[str, str], None] = {}
    skipped = 0
    for lead_id, email in queryset.order_by().values_list("lead_id", "email"):
        if lead_id:
            people[(lead_id, "")] = None
        elif email:
            people[("", email)] = None
        else:
            skipped += 1
    return list(people), skipped


@admin.register(LeadOwner)
class LeadOwnerAdmin(VisibleBatchesMixin, admin.ModelAdmin):
    list_display = ("lead_id", "scope", "owner", "batch", "claimed_at")
    search_fields = ("=lead_id",)
    raw_id_fields = ("owner", "batch")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LeadContactClaim)
class LeadContactClaimAdmin(VisibleBatchesMixin, admin.ModelAdmin):
    """Who holds each e-mail and phone (DEDUPE_ON_EMAIL / DEDUPE_ON_PHONE); read-only."""

    list_display = ("kind", "value", "scope", "owner", "batch", "claimed_at")
    list_filter = ("kind",)
    search_fields = ("=value",)
    raw_id_fields = ("owner", "batch")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _step_facts(result: dict) -> str:
    shown = result.get("status") == "ok"
    facts = [
        f"{key} {'-' if value is None else value}"
        for key, value in sorted(result.items())
        if key != "status" and (shown or value is not None)
    ]
    return ": " + "; ".join(facts) if facts else ""
