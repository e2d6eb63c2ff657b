"""How the console shows what the AI standardiser did with a lead."""

from django.utils.html import format_html, format_html_join


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
