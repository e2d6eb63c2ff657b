"""Settings read from the environment as hosting platforms hand it out."""

import dataclasses
import inspect
import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from batches.reading.files import inspect_file
from batches.reading.headers import mapping_for_headers
from leads.rules import DEFAULT_VALIDATORS, RuleContext
from leads.scopes import DEDUPE_SCOPES, DEFAULT_DEDUPE_SCOPE
from tests.envsettings import SETTINGS_FILE, settings_from_env
from webhooks.checks import check_webhook_settings
from webhooks.retry import DEFAULT_SCHEDULE, DEFAULT_SCHEDULE_TEXT, parse_schedule
from webhooks.services.sending import LEASE_MARGIN

ROOT = SETTINGS_FILE.parents[1]


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_platform_database_url_selects_postgresql(scheme):
    settings = settings_from_env(DATABASE_URL=f"{scheme}://valify:s%40cret@db.internal:6543/leads")

    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("leads", "valify", "s@cret")
    assert (db["HOST"], db["PORT"]) == ("db.internal", 6543)
    assert db["CONN_HEALTH_CHECKS"] is True


def test_database_url_options_such_as_sslmode_are_kept():
    settings = settings_from_env(DATABASE_URL="postgres://u:p@host:5432/db?sslmode=require")

    assert settings.DATABASES["default"]["OPTIONS"] == {"sslmode": "require"}


def test_without_database_url_sqlite_runs_in_wal_mode(tmp_path):
    settings = settings_from_env(VALIFY_VAR_DIR=str(tmp_path))

    db = settings.DATABASES["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "valify.sqlite3")
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


def test_bucket_name_stores_uploads_on_s3():
    settings = settings_from_env(
        AWS_STORAGE_BUCKET_NAME="uploads", AWS_S3_ENDPOINT_URL="https://s3.example.net"
    )

    assert settings.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert settings.AWS_S3_ENDPOINT_URL == "https://s3.example.net"
    assert settings.AWS_S3_FILE_OVERWRITE is False


def test_files_read_from_s3_are_spooled_to_disk_not_held_in_memory():
    settings = settings_from_env(AWS_STORAGE_BUCKET_NAME="uploads")

    assert 0 < settings.AWS_S3_MAX_MEMORY_SIZE <= 4 * 1024 * 1024
    assert settings.AWS_S3_TRANSFER_CONFIG.use_threads is False


def test_without_a_bucket_uploads_stay_on_the_local_disk():
    settings = settings_from_env()

    assert settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage")


def test_log_format_json_selects_the_json_formatter_for_web_worker_and_beat():
    settings = settings_from_env(LOG_FORMAT="json")

    assert settings.LOGGING["handlers"]["console"]["formatter"] == "json"
    assert settings.LOGGING["formatters"]["json"]["()"] == "valify.logging.JsonFormatter"
    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False


def test_logs_are_plain_text_by_default_with_the_extras_in_the_worker_too():
    settings = settings_from_env()

    assert settings.LOGGING["handlers"]["console"]["formatter"] == "plain"
    assert settings.LOGGING["formatters"]["plain"]["()"] == "valify.logging.PlainFormatter"
    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False


def test_unknown_log_format_is_refused():
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        settings_from_env(LOG_FORMAT="xml")


def test_production_settings_apply_with_debug_off():
    settings = settings_from_env(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="k" * 50,
        DJANGO_ALLOWED_HOSTS="valify.example.com",
    )

    assert settings.DEBUG is False
    assert settings.ALLOWED_HOSTS == ["valify.example.com"]
    assert settings.SECURE_SSL_REDIRECT is True
    assert settings.STORAGES["staticfiles"]["BACKEND"].startswith("whitenoise.")


def test_dedupe_scope_is_customer_or_global_and_nothing_else():
    assert settings_from_env(DEDUPE_SCOPE=" Global ").DEDUPE_SCOPE == "global"
    with pytest.raises(ImproperlyConfigured, match="DEDUPE_SCOPE"):
        settings_from_env(DEDUPE_SCOPE="tenant")


def test_phone_region_is_read_in_capitals():
    assert settings_from_env(PHONE_DEFAULT_REGION="gb").PHONE_DEFAULT_REGION == "GB"


# Defaults that repeat a constant of the code they configure: each stays equal to it.


def test_retry_schedule_default_is_the_retry_modules_default():
    settings = settings_from_env()

    assert settings.WEBHOOK_RETRY_SCHEDULE == DEFAULT_SCHEDULE_TEXT
    assert parse_schedule(settings.WEBHOOK_RETRY_SCHEDULE) == DEFAULT_SCHEDULE


def test_dedupe_scope_default_and_choices_are_the_scopes_modules():
    assert settings_from_env().DEDUPE_SCOPE == DEFAULT_DEDUPE_SCOPE
    chosen = [settings_from_env(DEDUPE_SCOPE=scope).DEDUPE_SCOPE for scope in DEDUPE_SCOPES]
    assert chosen == list(DEDUPE_SCOPES)


def test_lead_validators_default_is_the_rules_default():
    assert list(DEFAULT_VALIDATORS) == settings_from_env().LEAD_VALIDATORS


def test_age_and_phone_region_defaults_are_the_rule_contexts():
    settings = settings_from_env()
    context = {f.name: f.default for f in dataclasses.fields(RuleContext)}

    assert context["min_age"] == settings.MIN_AGE
    assert context["max_age"] == settings.MAX_AGE
    assert context["phone_region"] == settings.PHONE_DEFAULT_REGION


def test_consent_defaults_are_the_rule_contexts():
    settings = settings_from_env()
    context = {f.name: f.default for f in dataclasses.fields(RuleContext)}

    assert context["consent_required"] is settings.CONSENT_REQUIRED is False
    assert context["time_zone"] == settings.TIME_ZONE
    assert settings_from_env(CONSENT_REQUIRED="true").CONSENT_REQUIRED is True


@pytest.mark.parametrize("name", ["DEDUPE_ON_EMAIL", "DEDUPE_ON_PHONE"])
def test_dedupe_on_contacts_is_off_by_default_and_read_as_a_boolean(name):
    # Off: a shared office e-mail or switchboard number is not one person by default.
    assert getattr(settings_from_env(), name) is False
    assert getattr(settings_from_env(**{name: "true"}), name) is True
    assert getattr(settings_from_env(**{name: "0"}), name) is False


@pytest.mark.parametrize("reader", [mapping_for_headers, inspect_file])
def test_fuzzy_threshold_default_is_the_readers(reader):
    default = inspect.signature(reader).parameters["fuzzy_threshold"].default

    assert default == settings_from_env().HEADER_FUZZY_THRESHOLD


def test_default_lease_is_the_one_senders_use_and_passes_the_webhook_checks(settings):
    defaults = settings_from_env()
    for name in ("WEBHOOK_LEASE_SECONDS", "WEBHOOK_TIMEOUT", "WEBHOOK_SWEEP_SECONDS"):
        setattr(settings, name, getattr(defaults, name))

    # Senders lease for the longer of the setting and the timeout plus their margins.
    assert defaults.WEBHOOK_LEASE_SECONDS >= defaults.WEBHOOK_TIMEOUT + 3 * LEASE_MARGIN
    assert [m.id for m in check_webhook_settings(None) if m.id.startswith("webhooks.W")] == []


@pytest.mark.parametrize("launcher", ["Procfile", "bin/run"])
def test_drainers_default_matches_the_worker_slots_the_launchers_start(launcher):
    text = (ROOT / launcher).read_text()
    [slots] = re.findall(r"--concurrency \"?\$\{WORKER_CONCURRENCY:-(\d+)\}", text)

    assert int(slots) == settings_from_env().WEBHOOK_DRAINERS


# Deployment defaults: debug pages never reach a public host, the public key never signs.


@pytest.mark.parametrize("hosts", ["valify.example.com", "localhost,valify.example.com", "*"])
def test_debug_on_refuses_a_host_that_is_not_local(hosts):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG=false"):
        settings_from_env(DJANGO_ALLOWED_HOSTS=hosts)


def test_debug_on_serves_the_local_hosts():
    settings = settings_from_env(DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1,[::1]")
    assert settings.DEBUG is True


@pytest.mark.parametrize(
    "key", [None, "django-insecure-embedded-only-set-DJANGO_SECRET_KEY-in-production"]
)
def test_debug_off_refuses_a_missing_or_development_secret_key(key):
    env = {"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "valify.example.com"}
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        settings_from_env(**env)


def test_debug_off_exempts_health_from_the_https_redirect():
    settings = settings_from_env(
        DJANGO_DEBUG="false", DJANGO_SECRET_KEY="k" * 50, DJANGO_ALLOWED_HOSTS="valify.example.com"
    )
    assert settings.SECURE_REDIRECT_EXEMPT == [r"^health$"]


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"CHUNK_SIZE": "abc"}, "CHUNK_SIZE='abc' is not a whole number"),
        ({"WEBHOOK_RATE_LIMIT": "fast"}, "WEBHOOK_RATE_LIMIT='fast' is not a number"),
        ({"DATABASE_URL": "notaurl"}, "DATABASE_URL='notaurl' is not a database URL"),
        ({"EMAIL_URL": "notaurl"}, "EMAIL_URL='notaurl' is not an e-mail URL"),
        ({"CONSENT_REQUIRED": "ture"}, "CONSENT_REQUIRED='ture' is not true or false"),
        ({"TIME_ZONE": "Mars/Base"}, "TIME_ZONE='Mars/Base' is not a time zone"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='LOUD' is not one of"),
        ({"MAX_UPLOAD_MB": "-1"}, "MAX_UPLOAD_MB must be at least 1"),
        ({"MAX_LEADS_PER_BATCH": "0"}, "MAX_LEADS_PER_BATCH must be at least 1"),
        ({"WEBHOOK_TIMEOUT": "-1"}, "WEBHOOK_TIMEOUT must be a number above 0"),
        ({"WEBHOOK_TIMEOUT": "nan"}, "WEBHOOK_TIMEOUT must be a number above 0"),
        ({"WEBHOOK_TIMEOUT": "1e3x"}, "WEBHOOK_TIMEOUT='1e3x' is not a number"),
        ({"WEBHOOK_SWEEP_SECONDS": "0"}, "WEBHOOK_SWEEP_SECONDS must be at least 1"),
        ({"WEBHOOK_RATE_LIMIT": "-5"}, "WEBHOOK_RATE_LIMIT must be at least 0"),
        ({"MIN_AGE": "200"}, "MAX_AGE (120) must be above MIN_AGE (200)"),
        ({"HEADER_FUZZY_THRESHOLD": "101"}, "HEADER_FUZZY_THRESHOLD is a score from 0 to 100"),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT must be at least 1"),
    ],
)
def test_a_setting_that_cannot_be_used_stops_the_start_naming_it(env, said):
    with pytest.raises(ImproperlyConfigured, match=re.escape(said)):
        settings_from_env(**env)


@pytest.mark.parametrize("word", ["false", "OFF", "no", "0", ""])
def test_a_switch_reads_the_usual_words_for_off(word):
    assert settings_from_env(CONSENT_REQUIRED=word).CONSENT_REQUIRED is False
    assert settings_from_env(CONSENT_REQUIRED="Yes").CONSENT_REQUIRED is True


def test_an_empty_broker_url_falls_back_to_redis_url():
    loaded = settings_from_env(CELERY_BROKER_URL="", REDIS_URL="redis://127.0.0.1:6379/3")
    assert loaded.CELERY_BROKER_URL == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize(
    ("url", "private", "refused"),
    [
        ("notaurl", False, "WEBHOOK_URL must be an https URL."),
        ("http://hooks.example.com/valify", False, "WEBHOOK_URL must be an https URL."),
        ("https://hooks.example.com/valify", False, None),
        ("http://127.0.0.1:9000/hook", True, None),
    ],
)
def test_a_webhook_url_no_delivery_could_reach_fails_the_checks(settings, url, private, refused):
    settings.WEBHOOK_URL, settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = url, private

    errors = [m.msg for m in check_webhook_settings(None) if m.id == "webhooks.E003"]

    assert errors == ([refused] if refused else [])
