"""The lead settings are checked at start-up."""

from django.core.checks import run_checks


def check_ids(settings, **values) -> list[str]:
    for name, value in values.items():
        setattr(settings, name, value)
    return [message.id for message in run_checks() if message.id.startswith("leads.")]


def test_a_known_phone_region_passes(settings):
    assert check_ids(settings, PHONE_DEFAULT_REGION="GB") == []


def test_an_unknown_phone_region_is_an_error(settings):
    assert check_ids(settings, PHONE_DEFAULT_REGION="UK") == ["leads.E001"]
    assert check_ids(settings, PHONE_DEFAULT_REGION="gb") == ["leads.E001"]


def test_consent_required_without_the_consent_rule_is_a_warning(settings):
    without = ["leads.rules.validate_names", "leads.rules.validate_dob"]

    assert check_ids(settings, CONSENT_REQUIRED=True) == []
    assert check_ids(settings, CONSENT_REQUIRED=False, LEAD_VALIDATORS=without) == []
    assert check_ids(settings, CONSENT_REQUIRED=True, LEAD_VALIDATORS=without) == ["leads.W001"]


def test_enrichment_steps_that_cannot_be_loaded_are_errors(settings):
    built_in = ["leads.enrichment.EmailEnricher", "leads.enrichment.PhoneEnricher"]

    assert check_ids(settings, LEAD_ENRICHERS=built_in) == []
    assert check_ids(settings, LEAD_ENRICHERS=[*built_in, "leads.enrichment.NoSuchStep"]) == [
        "leads.E002"
    ]
    assert check_ids(settings, LEAD_ENRICHERS=["no_such_module.Step"]) == ["leads.E002"]
    # Importable, but not a step: nothing to store its results under.
    assert check_ids(settings, LEAD_ENRICHERS=["leads.enrichment.enrich_leads"]) == ["leads.E002"]


def test_rejecting_disposable_addresses_without_the_email_step_is_a_warning(settings):
    phone_only = ["leads.enrichment.PhoneEnricher"]

    assert check_ids(settings, ENRICH_REJECT_DISPOSABLE=True) == []
    assert check_ids(settings, ENRICH_REJECT_DISPOSABLE=False, LEAD_ENRICHERS=phone_only) == []
    assert check_ids(settings, ENRICH_REJECT_DISPOSABLE=True, LEAD_ENRICHERS=phone_only) == [
        "leads.W002"
    ]
