"""System checks for the AI standardiser's settings: a bound that cannot work shows at deploy."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_ai_settings(app_configs, **kwargs) -> list:
    if not settings.AI_ENABLED:
        return []
    messages = []
    # With no place for a call, every chunk would wait out its budget for nothing.
    for name, least in (("AI_CONCURRENCY", 1), ("AI_TIMEOUT", 0.001), ("AI_CACHE_DAYS", 0)):
        if getattr(settings, name) < least:
            messages.append(
                Error(
                    f"{name} must be at least {least:g} with the AI standardiser on.",
                    id="standardiser.E001",
                )
            )
    base_url = settings.AI_BASE_URL
    if base_url and not base_url.startswith(("http://", "https://")):
        # Every row would otherwise fail its call, silently keeping its rule errors.
        messages.append(
            Error(
                f"AI_BASE_URL {base_url!r} must be an http:// or https:// URL "
                "(e.g. https://api.deepseek.com).",
                id="standardiser.E002",
            )
        )
    return messages
