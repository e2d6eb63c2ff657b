"""Endpoint health in the console: state, success rate and p95 latency over the last 24 h,
read for a whole page of endpoints at once."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from customers.models import Endpoint
from valify.timefmt import console_time
from webhooks.endpoint_health import EndpointFigures, endpoints_figures

HEALTH_COLUMNS = ("state", "success_rate", "p95_latency")
_FIGURES = "_health_figures"  # where a page's figures are kept on each endpoint


def endpoints_attach_figures(endpoints: Iterable[Endpoint]) -> None:
    """Read the figures of these endpoints in one go and keep each on its endpoint."""
    endpoints = list(endpoints)
    figures = endpoints_figures(e.pk for e in endpoints if e.pk)
    for endpoint in endpoints:
        setattr(endpoint, _FIGURES, figures.get(endpoint.pk))


def _figures(endpoint: Endpoint) -> EndpointFigures | None:
    if not hasattr(endpoint, _FIGURES):  # shown alone (its own page): read it now
        endpoints_attach_figures([endpoint])
    return getattr(endpoint, _FIGURES)


def endpoint_state(endpoint: Endpoint) -> str:
    """Enabled, failing since when, or disabled since when and why."""
    if not endpoint.pk:
        return "-"
    if not endpoint.is_enabled:
        since = f" since {console_time(endpoint.disabled_at)}" if endpoint.disabled_at else ""
        reason = f": {endpoint.disabled_reason}" if endpoint.disabled_reason else ""
        return f"Disabled{since}{reason}"
    if endpoint.failing_since:
        return f"Enabled; every attempt failed since {console_time(endpoint.failing_since)}"
    return "Enabled"


class EndpointHealthColumns:
    """Read-only columns for endpoint lists, pages and inlines."""

    @admin.display(description="state")
    def state(self, obj: Endpoint) -> str:
        return endpoint_state(obj)

    @admin.display(description="success rate (24 h)")
    def success_rate(self, obj: Endpoint) -> str:
        figures = _figures(obj) if obj.pk else None
        if figures is None:
            return "no attempts"
        return f"{figures.success_rate:.1%} of {figures.attempts:,}"

    @admin.display(description="p95 latency (24 h)")
    def p95_latency(self, obj: Endpoint) -> str:
        figures = _figures(obj) if obj.pk else None
        if figures is None or figures.p95_ms is None:
            return "-"
        return f"{figures.p95_ms:,.0f} ms"


class EndpointHealthFormSet(BaseInlineFormSet):
    """An inline formset whose endpoints carry their figures, read once for all of them."""

    def get_queryset(self):
        if not hasattr(self, "_queryset"):
            endpoints_attach_figures(super().get_queryset())  # evaluated and kept
        return self._queryset
