"""System checks for the screening settings: a setting that would do nothing shows at deploy."""

from pathlib import Path

from django.conf import settings
from django.core.checks import Warning, register

PHONE_STEP = "leads.enrichment.PhoneEnricher"


@register()
def check_screening_settings(app_configs, **kwargs) -> list:
    messages = []
    if settings.TPS_REJECT and PHONE_STEP not in settings.LEAD_ENRICHERS:
        # Screening reads the phone step's result: without the step nothing is screened.
        messages.append(
            Warning(
                f"TPS_REJECT is on but LEAD_ENRICHERS does not name {PHONE_STEP}: "
                "no phone will be screened.",
                id="screening.W001",
            )
        )
    if settings.ENRICH_TPS_FILE and not Path(settings.ENRICH_TPS_FILE).is_file():
        messages.append(
            Warning(
                f"ENRICH_TPS_FILE {settings.ENRICH_TPS_FILE!r} is not a file: import_tps "
                "without a FILE will fail.",
                id="screening.W002",
            )
        )
    return messages
