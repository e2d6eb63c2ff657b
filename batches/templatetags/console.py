"""Template tags of the operator console: the dashboard and the batch page panels."""

from django import template

from batches.dashboard import (
    batch_error_breakdown,
    batch_webhook_summary,
    dashboard_figures,
)
from batches.selectors import batch_result_counts, batch_stall
from leads.models import LeadValidation
from leads.selectors import lead_enrichment_counts
from standardiser.selectors import ai_counts, ai_usages
from webhooks.selectors import sending_problems_for

register = template.Library()


@register.filter
def thousands(value) -> str:
    """A count as the upload preview writes it: 3,000 (the page's live counts follow it)."""
    return f"{value:,}" if isinstance(value, int) else value


@register.inclusion_tag("admin/batches/dashboard.html", takes_context=True)
def dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "figures": dashboard_figures(user=user),
        # The lists' banner, here too: the figures alone would not say nothing can be sent.
        "sending_problems": sending_problems_for(user) if user is not None else [],
        "request": request,
    }


@register.inclusion_tag("admin/batches/batchjob/panels.html", takes_context=True)
def batch_panels(context, batch):
    return {
        "batch": batch,
        "counts": batch_result_counts(batch=batch),
        "stalled": batch_stall(batch=batch),
        "errors": batch_error_breakdown(batch=batch),
        "webhooks": batch_webhook_summary(batch=batch),
        "enrichment": lead_enrichment_counts(batch_pk=batch.pk),
        "ai": (
            ai_counts(leads=LeadValidation.objects.filter(batch_id=batch.pk))
            if ai_usages().filter(batch_id=batch.pk).exists()
            else None
        ),
        "perms": context.get("perms"),
        "request": context.get("request"),
    }
