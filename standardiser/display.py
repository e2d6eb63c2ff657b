"""How the console shows what the AI standardiser did with a lead."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from standardiser.decide import CORRECTED, REFUSED
from standardiser.models import AiBatchUsage
from standardiser.services.run import FAILED, NO_BUDGET

OUTCOME_LABELS = (
    (CORRECTED, "corrected"),
    (REFUSED, "answer refused by the rules"),
    (NO_BUDGET, "left for lack of budget"),
    (FAILED, "no answer from the service"),
)


class AiOutcomeFilter(admin.SimpleListFilter):
    """Leads by what the standardiser did with them; shown once it has run for a batch."""

    title = "AI standardiser"
    parameter_name = "ai"

    def lookups(self, request, model_admin):
        return OUTCOME_LABELS if AiBatchUsage.objects.exists() else []

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(ai__outcome=self.value())
        return queryset


def ai_summary_html(ai: dict | None) -> str:
    """Outcome (and why, without an answer), model and prompt version, then each changed
    field as before → after."""
    if not ai:
        return "–"
    reason = ai.get("reason")
    return format_html(
        "<p><code>{}</code>{} by {} (prompt {})</p><ul>{}</ul>",
        ai.get("outcome", ""),
        format_html(" (<code>{}</code>)", reason) if reason else "",
        ai.get("model", ""),
        ai.get("prompt_version", ""),
        format_html_join(
            "",
            "<li><code>{}</code>: «{}» → «{}»</li>",
            ((field, pair[0], pair[1]) for field, pair in (ai.get("changed") or {}).items()),
        ),
    )
