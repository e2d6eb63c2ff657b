"""Reports → Delivered leads: per customer and day or month, on screen and as CSV."""

import codecs
import csv
from datetime import datetime, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from batches.exports import escape_cell
from customers.selectors import customers_visible_to
from reports.models import DeliveredLeads
from reports.selectors import PERIODS, delivered_leads_report

DEFAULT_DAYS = 31
CSV_HEADER = ("customer", "period", "validated", "delivered", "rejected", "failed", "reasons")


def _date(value: str | None, default: datetime) -> datetime:
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d")
    except ValueError:
        return default
    return timezone.make_aware(day)


@admin.register(DeliveredLeads)
class DeliveredLeadsAdmin(admin.ModelAdmin):
    """A read-only report over the customers the user may see."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm("webhooks.view_delivery")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        since = _date(request.GET.get("since"), today - timedelta(days=DEFAULT_DAYS))
        until = _date(request.GET.get("until"), today) + timedelta(days=1)  # inclusive day
        period = request.GET.get("period") if request.GET.get("period") in PERIODS else "day"
        customers = customers_visible_to(request.user)
        if slug := request.GET.get("customer"):
            customers = customers.filter(slug=slug)
        rows = delivered_leads_report(customers=customers, period=period, since=since, until=until)
        if request.GET.get("format") == "csv":
            return _csv(rows, period)
        context = {
            **self.admin_site.each_context(request),
            "title": "Delivered leads",
            "opts": self.model._meta,
            "rows": rows,
            "period": period,
            "since": since.date().isoformat(),
            "until": (until - timedelta(days=1)).date().isoformat(),
            "customer": request.GET.get("customer", ""),
            "customers": customers_visible_to(request.user).values_list("slug", flat=True),
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/reports/delivered_leads.html", context)


def _csv(rows, period: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="delivered-leads-by-{period}.csv"'
    # BOM for Excel's sake, like the results CSV; reasons are the receivers' words, so no
    # cell may start a formula.
    response.write(codecs.BOM_UTF8.decode("utf-8"))
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    shown = "%Y-%m" if period == "month" else "%Y-%m-%d"
    for row in rows:
        reasons = "; ".join(f"{reason} ({n})" for reason, n in row.reasons.items())
        cells = (
            row.customer,
            timezone.localtime(row.period).strftime(shown),
            row.validated,
            row.delivered,
            row.rejected,
            row.failed,
            reasons,
        )
        writer.writerow([escape_cell(cell) for cell in cells])
    return response
