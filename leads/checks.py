"""System checks for the lead settings: a bad value shows at deploy, not in every result."""

import phonenumbers
from django.conf import settings
from django.core.checks import Error, register


@register()
def check_lead_settings(app_configs, **kwargs) -> list:
    region = settings.PHONE_DEFAULT_REGION
    if region not in phonenumbers.SUPPORTED_REGIONS:
        # phonenumbers would then refuse every number written without its country code.
        return [
            Error(
                f"PHONE_DEFAULT_REGION {region!r} is not a region phonenumbers knows; "
                "use a two-letter country code such as GB.",
                id="leads.E001",
            )
        ]
    return []
