"""Settings of receivers' verdicts and alert e-mail, read from the environment."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.envsettings import settings_from_env
from webhooks.verdicts import DEFAULT_REJECT_STATUSES


def test_defaults():
    settings = settings_from_env()
    assert settings.WEBHOOK_REJECT_STATUSES == DEFAULT_REJECT_STATUSES
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    assert settings.ALERT_EMAILS == []
    assert settings.EMAIL_TIMEOUT == 10
    assert settings.DEFAULT_FROM_EMAIL == "valify@localhost"


def test_reject_statuses_are_parsed_once():
    assert settings_from_env(WEBHOOK_REJECT_STATUSES=" 400, 409 ").WEBHOOK_REJECT_STATUSES == (
        400,
        409,
    )
    assert settings_from_env(WEBHOOK_REJECT_STATUSES="").WEBHOOK_REJECT_STATUSES == ()


@pytest.mark.parametrize("value", ["abc", "99", "600", "4090", "٤٢٢", "409;422"])
def test_a_malformed_reject_status_is_refused_by_name(value):
    with pytest.raises(ImproperlyConfigured, match="WEBHOOK_REJECT_STATUSES"):
        settings_from_env(WEBHOOK_REJECT_STATUSES=value)


def test_email_url_and_alert_emails():
    settings = settings_from_env(
        EMAIL_URL="smtp+tls://user:secret@smtp.example.com:587",
        ALERT_EMAILS="ops@example.com,oncall@example.com",
        DEFAULT_FROM_EMAIL="valify@example.com",
        EMAIL_TIMEOUT="5",
    )
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
    assert (settings.EMAIL_HOST, settings.EMAIL_PORT) == ("smtp.example.com", 587)
    assert settings.EMAIL_USE_TLS is True and settings.EMAIL_HOST_USER == "user"
    assert settings.ALERT_EMAILS == ["ops@example.com", "oncall@example.com"]
    assert settings.EMAIL_TIMEOUT == 5
