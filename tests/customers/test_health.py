"""The endpoint health rule: what attempts leave on record, and when failure disables."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertKind
from customers.health import (
    DEFAULT_DISABLE_AFTER_HOURS,
    SUCCESS_GRANULARITY,
    HealthRecord,
    failing_too_long,
    health_after,
    health_worth_writing,
)
from customers.models import Endpoint
from customers.services import customer_create, endpoint_health_record
from tests.envsettings import settings_from_env

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(hours: float) -> datetime:
    return T0 + hours * HOUR


def test_the_setting_defaults_to_the_rules_constant_and_refuses_nonsense():
    assert settings_from_env().ENDPOINT_DISABLE_AFTER_HOURS == DEFAULT_DISABLE_AFTER_HOURS == 24
    assert settings_from_env(ENDPOINT_DISABLE_AFTER_HOURS="0.5").ENDPOINT_DISABLE_AFTER_HOURS == 0.5
    for value in ("0", "-1", "nan", "inf"):
        with pytest.raises(ImproperlyConfigured, match="ENDPOINT_DISABLE_AFTER_HOURS"):
            settings_from_env(ENDPOINT_DISABLE_AFTER_HOURS=value)


def test_the_first_failure_after_the_last_success_starts_the_count():
    record = health_after(HealthRecord(None, None), succeeded_at=at(0), failed_at=None)
    assert record == HealthRecord(at(0), None)
    record = health_after(record, succeeded_at=None, failed_at=at(1))
    assert record == HealthRecord(at(0), at(1))
    record = health_after(record, succeeded_at=None, failed_at=at(5))
    assert record.failing_since == at(1), "later failures do not move the start"
    assert health_after(record, succeeded_at=at(6), failed_at=None) == HealthRecord(at(6), None)


def test_attempts_recorded_out_of_order_keep_the_true_start():
    failing = HealthRecord(at(0), at(2))
    # A success older than the failures on record does not clear them...
    assert health_after(failing, succeeded_at=at(1), failed_at=None) == HealthRecord(at(1), at(2))
    # ...a failure older than the last success is no news, and an earlier one moves the start.
    assert health_after(HealthRecord(at(3), None), succeeded_at=None, failed_at=at(2)) == (
        HealthRecord(at(3), None)
    )
    assert health_after(failing, succeeded_at=None, failed_at=at(1)).failing_since == at(1)
    # A success then a failure seen together: failing from that failure.
    assert health_after(failing, succeeded_at=at(4), failed_at=at(5)) == HealthRecord(at(4), at(5))


def test_only_news_is_worth_writing():
    ok = HealthRecord(at(0), None)
    assert not health_worth_writing(ok, ok)
    assert not health_worth_writing(ok, HealthRecord(at(0) + SUCCESS_GRANULARITY / 2, None))
    assert health_worth_writing(ok, HealthRecord(at(0) + SUCCESS_GRANULARITY, None))
    assert health_worth_writing(HealthRecord(None, None), ok)
    assert health_worth_writing(ok, HealthRecord(at(0), at(1)))
    assert health_worth_writing(HealthRecord(at(0), at(1)), HealthRecord(at(2), None))


def test_failing_too_long_is_reached_at_the_hour_not_before():
    assert not failing_too_long(None, now=at(100), hours=24)
    assert not failing_too_long(at(0), now=at(24) - timedelta(seconds=1), hours=24)
    assert failing_too_long(at(0), now=at(24), hours=24)


@pytest.mark.django_db
class TestRecord:
    @pytest.fixture
    def endpoint(self, settings):
        settings.ALERT_EMAILS = ["ops@valify.example"]
        settings.ENDPOINT_DISABLE_AFTER_HOURS = 24
        acme = customer_create(slug="acme", name="Acme", alert_emails=["acme@example.com"])
        return Endpoint.objects.create(customer=acme.customer, url="https://hooks.acme.example/")

    def test_an_endpoint_failing_for_the_whole_period_is_disabled_with_an_alert(self, endpoint):
        health = endpoint_health_record(endpoint_pk=endpoint.pk, now=at(0), failed_at=at(0))
        assert health.enabled and health.failing_since == at(0)
        almost = at(24) - timedelta(seconds=1)
        assert endpoint_health_record(endpoint_pk=endpoint.pk, now=almost, failed_at=almost).enabled
        assert not Alert.objects.exists()

        health = endpoint_health_record(endpoint_pk=endpoint.pk, now=at(24), failed_at=at(24))

        assert (health.enabled, health.disabled_now, health.failing_since) == (False, True, at(0))
        endpoint.refresh_from_db()
        assert not endpoint.is_enabled and endpoint.disabled_at is not None
        assert endpoint.disabled_reason == (
            "Every attempt failed for 24 hours (since 2026-12-01T09:00:00Z)"
        )
        alert = Alert.objects.get(kind=AlertKind.ENDPOINT_DISABLED)
        assert endpoint.url in alert.subject and endpoint.disabled_reason in alert.body
        assert "Acme (acme)" in alert.subject, "whose endpoint it is"
        assert alert.recipients == "acme@example.com,ops@valify.example"

    def test_a_disabled_endpoint_is_not_disabled_or_alerted_again(self, endpoint):
        endpoint_health_record(endpoint_pk=endpoint.pk, now=at(0), failed_at=at(0))
        endpoint_health_record(endpoint_pk=endpoint.pk, now=at(30))
        health = endpoint_health_record(endpoint_pk=endpoint.pk, now=at(31), failed_at=at(31))
        assert (health.enabled, health.disabled_now) == (False, False)
        assert Alert.objects.count() == 1

    def test_one_success_within_the_period_starts_it_again(self, endpoint):
        endpoint_health_record(endpoint_pk=endpoint.pk, now=at(0), failed_at=at(0))
        endpoint_health_record(endpoint_pk=endpoint.pk, now=at(23), succeeded_at=at(23))
        endpoint_health_record(endpoint_pk=endpoint.pk, now=at(23.5), failed_at=at(23.5))
        health = endpoint_health_record(endpoint_pk=endpoint.pk, now=at(30), failed_at=at(30))
        assert health.enabled and health.failing_since == at(23.5)
        endpoint.refresh_from_db()
        assert (endpoint.last_success_at, endpoint.failing_since) == (at(23), at(23.5))

    def test_steady_success_or_steady_failure_writes_nothing(self, endpoint):
        endpoint_health_record(endpoint_pk=endpoint.pk, now=at(0), succeeded_at=at(0))
        soon = at(0) + SUCCESS_GRANULARITY / 2
        with CaptureQueriesContext(connection) as queries:
            endpoint_health_record(endpoint_pk=endpoint.pk, now=soon, succeeded_at=soon)
        assert [q["sql"].split()[0] for q in queries] == ["SELECT"]
        endpoint_health_record(endpoint_pk=endpoint.pk, now=at(1), failed_at=at(1))
        with CaptureQueriesContext(connection) as queries:
            endpoint_health_record(endpoint_pk=endpoint.pk, now=at(2), failed_at=at(2))
        assert [q["sql"].split()[0] for q in queries] == ["SELECT"]
        endpoint.refresh_from_db()
        assert (endpoint.last_success_at, endpoint.failing_since) == (at(0), at(1))

    def test_the_period_follows_the_setting(self, endpoint, settings):
        settings.ENDPOINT_DISABLE_AFTER_HOURS = 0.5
        endpoint_health_record(endpoint_pk=endpoint.pk, now=at(0), failed_at=at(0))
        assert not endpoint_health_record(endpoint_pk=endpoint.pk, now=at(0.5)).enabled

    def test_a_deleted_endpoint_records_nothing(self, endpoint):
        pk = endpoint.pk
        endpoint.delete()
        assert endpoint_health_record(endpoint_pk=pk, now=at(0), failed_at=at(0)) is None
