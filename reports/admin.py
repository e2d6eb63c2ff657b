"""Reports → Delivered leads: per customer and day or month, on screen and as CSV."""

import codecs
import csv
from datetime import datetime, timedelta
from typing import NamedTuple

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from batches.exports import escape_cell
from customers.selectors import customers_visible_to
from reports.models import DeliveredLeads
from reports.selectors import PERIODS, delivered_leads_report

DEFAULT_DAYS = 31
DEFAULT_MONTHS = 12
# Each date parameter: its label on the page, and how its default is said.
LABELS = {"since": ("From", "from"), "until": ("To", "to")}
CSV_HEADER = ("customer", "period", "validated", "delivered", "rejected", "failed", "reasons")


class Problem(NamedTuple):
    """What is wrong with the range asked for, and what the page shows instead."""

    what: str
    instead: str

    def on_page(self) -> str:
        return f"{self.what}: {self.instead}."

    def in_file(self) -> str:  # a refused file shows nothing instead
        return f"{self.what}."


def report_range(params, period: str, today: datetime) -> tuple[datetime, datetime, list[Problem]]:
    """[since, until) from the page's `since` and `until` (inclusive days, YYYY-MM-DD), and what
    was wrong with them. By default the last 31 days by day, or the last 12 whole months (this
    one so far) by month: a month is never labelled for what is only its last few days."""
    problems = []

    def read(name: str, default: datetime) -> datetime:
        value = params.get(name)
        if not value:
            return default
        try:
            return timezone.make_aware(datetime.strptime(value, "%Y-%m-%d"))
        except ValueError:
            label, word = LABELS[name]
            problems.append(
                Problem(
                    f"{label} \u201c{value}\u201d is not a date (YYYY-MM-DD)",
                    f"showing {word} {default.date().isoformat()} instead",
                )
            )
            return default

    if period == "month":
        months_back = today.year * 12 + today.month - 1 - (DEFAULT_MONTHS - 1)
        first = datetime(months_back // 12, months_back % 12 + 1, 1)
        default_since = timezone.make_aware(first)
    else:
        default_since = today - timedelta(days=DEFAULT_DAYS - 1)  # today is one of them
    since = read("since", default_since)
    until = read("until", today) + timedelta(days=1)  # inclusive day
    if since >= until:
        problems.append(Problem("From is after To", "nothing falls between them"))
    return since, until, problems


@admin.register(DeliveredLeads)
class DeliveredLeadsAdmin(admin.ModelAdmin):
    """A read-only report over the customers the user may see."""

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm("webhooks.view_delivery")

    def has_module_permission(self, request):
        # No group holds a permission of this app: it is listed for whoever may view the
        # report (Django lists an app only for holders of one of its own permissions).
        return self.has_view_permission(request)

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
        period = request.GET.get("period") if request.GET.get("period") in PERIODS else "day"
        params = request.GET
        if params.get("shown") and params.get("shown") != period:
            # The form switched from day to month (or back): the range shown was the other
            # period's default, so the new period's own default applies.
            params = params.copy()
            for name in ("since", "until"):
                params.pop(name, None)
        since, until, problems = report_range(params, period, today)
        customers = customers_visible_to(request.user)
        if slug := request.GET.get("customer"):
            customers = customers.filter(slug=slug)
        rows = delivered_leads_report(customers=customers, period=period, since=since, until=until)
        if request.GET.get("format") == "csv":
            if problems:  # a script invoicing from the file must not get other dates' figures
                return HttpResponse(
                    "\n".join(problem.in_file() for problem in problems),
                    status=400,
                    content_type="text/plain; charset=utf-8",
                )
            return _csv(rows, period)
        for problem in problems:
            messages.warning(request, problem.on_page())
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
