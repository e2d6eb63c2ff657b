"""System checks for the lead settings: a bad value shows at deploy, not in every result."""

import phonenumbers
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.utils.module_loading import import_string

CONSENT_VALIDATOR = "leads.rules.validate_consent"


@register()
def check_lead_settings(app_configs, **kwargs) -> list:
    messages = []
    region = settings.PHONE_DEFAULT_REGION
    if region not in phonenumbers.SUPPORTED_REGIONS:
        # phonenumbers would then refuse every number written without its country code.
        messages.append(
            Error(
                f"PHONE_DEFAULT_REGION {region!r} is not a region phonenumbers knows; "
                "use a two-letter country code such as GB.",
                id="leads.E001",
            )
        )
    if settings.CONSENT_REQUIRED and CONSENT_VALIDATOR not in settings.LEAD_VALIDATORS:
        # A deployment's own validator list made before consent existed would let every
        # lead through without one.
        messages.append(
            Warning(
                f"CONSENT_REQUIRED is on but LEAD_VALIDATORS does not name {CONSENT_VALIDATOR}: "
                "no lead will be checked for consent.",
                id="leads.W001",
            )
        )
    errors, names = _enricher_errors(settings.LEAD_ENRICHERS)
    messages.extend(errors)
    if settings.ENRICH_REJECT_DISPOSABLE and not errors and "email" not in names:
        # The rule reads the e-mail step's result: without the step nothing is rejected.
        messages.append(
            Warning(
                "ENRICH_REJECT_DISPOSABLE is on but no step of LEAD_ENRICHERS is the `email` "
                "step (leads.enrichment.EmailEnricher): no address will be rejected.",
                id="leads.W002",
            )
        )
    return messages


def _enricher_errors(paths) -> tuple[list, set[str]]:
    """A step that cannot be loaded would fail every chunk: say so at deploy instead.
    Return the errors and the names of the steps that load."""
    errors, names = [], set()
    for path in paths:
        try:
            step = import_string(path)
        except ImportError as exc:
            problem = f"cannot be imported ({exc})"
        else:
            name = getattr(step, "name", None)
            if isinstance(name, str):
                names.add(name)
                continue
            problem = "has no `name` (the key its results are stored under)"
        errors.append(Error(f"LEAD_ENRICHERS: {path!r} {problem}.", id="leads.E002"))
    return errors, names
