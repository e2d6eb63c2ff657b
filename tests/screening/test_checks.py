"""The screening settings are checked at start-up."""

from django.core.checks import run_checks


def check_ids(settings, **values) -> list[str]:
    for name, value in values.items():
        setattr(settings, name, value)
    return [message.id for message in run_checks() if message.id.startswith("screening.")]


def test_the_defaults_pass(settings):
    assert check_ids(settings) == []


def test_tps_reject_without_the_phone_step_is_a_warning(settings):
    assert check_ids(settings, TPS_REJECT=True) == []
    email_only = ["leads.enrichment.EmailEnricher"]
    assert check_ids(settings, TPS_REJECT=False, LEAD_ENRICHERS=email_only) == []
    assert check_ids(settings, TPS_REJECT=True, LEAD_ENRICHERS=email_only) == ["screening.W001"]


def test_a_tps_file_that_is_not_there_is_a_warning(settings, tmp_path):
    (tmp_path / "tps.txt").write_text("01632960001\n")
    assert check_ids(settings, TPS_REJECT=False, ENRICH_TPS_FILE=str(tmp_path / "tps.txt")) == []
    assert check_ids(settings, ENRICH_TPS_FILE=str(tmp_path / "missing.txt")) == ["screening.W002"]
