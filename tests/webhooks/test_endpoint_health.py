"""Endpoint figures from the attempt log: success rate and p95 latency over the last 24 h."""

import random
import statistics
from datetime import timedelta

import pytest
from django.utils import timezone

from customers.services import customer_create, endpoint_create
from tests.webhooks.factories import make_batch, make_deliveries
from valify.bulk import is_postgresql, percentile_by_group
from webhooks.endpoint_health import EndpointFigures, endpoints_figures
from webhooks.models import DeliveryAttempt

pytestmark = pytest.mark.django_db


def attempts(endpoint, rows, *, at=None):
    """Log one attempt per (status_code, duration_ms) row on a delivery to ``endpoint``."""
    [delivery] = make_deliveries(
        batch=make_batch(customer=endpoint.customer), customer_endpoint=endpoint
    )
    at = at or timezone.now() - timedelta(minutes=5)
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            delivery=delivery,
            number=i + 1,
            endpoint=endpoint.url,
            started_at=at,
            status_code=code,
            duration_ms=ms,
        )
        for i, (code, ms) in enumerate(rows)
    )


@pytest.fixture
def endpoints():
    acme = customer_create(slug="acme", name="Acme").customer
    return [endpoint_create(customer=acme, url=f"https://{n}.acme.example/") for n in "abc"]


def inclusive_p95(values):
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def test_figures_count_answers_taken_and_time_the_requests_made(
    endpoints, django_assert_num_queries
):
    busy, slow, idle = endpoints
    codes = [204] * 90 + [500] * 5 + [409, 422, 422] + [410] * 2
    random.Random(7).shuffle(codes)
    attempts(busy, list(zip(codes, range(1, 101), strict=True)))
    attempts(busy, [(None, 0)])  # refused before any request: no latency
    attempts(busy, [(204, 99_999)], at=timezone.now() - timedelta(hours=24, minutes=1))
    attempts(slow, [(None, 250)])  # a timeout: time spent, no answer

    with django_assert_num_queries(1 if is_postgresql() else 2):
        figures = endpoints_figures([e.pk for e in endpoints])

    assert figures[busy.pk] == EndpointFigures(attempts=101, successes=93, p95_ms=95.05)
    assert figures[busy.pk].success_rate == pytest.approx(93 / 101)
    assert figures[slow.pk] == EndpointFigures(attempts=1, successes=0, p95_ms=250.0)
    assert idle.pk not in figures
    assert endpoints_figures([]) == {}


def test_percentile_by_group_is_percentile_cont(endpoints):
    rng = random.Random(11)
    expected = {}
    for endpoint, size in zip(endpoints, (1, 2, 37), strict=True):
        durations = [rng.randrange(1, 5000) for _ in range(size)]
        attempts(endpoint, [(204, ms) for ms in durations])
        expected[endpoint.pk] = (
            float(durations[0]) if size == 1 else inclusive_p95(sorted(durations))
        )

    found = percentile_by_group(
        DeliveryAttempt.objects.all(),
        group="delivery__customer_endpoint_id",
        value="duration_ms",
        fraction=0.95,
    )

    assert found == pytest.approx(expected)
    with pytest.raises(ValueError, match="fraction"):
        percentile_by_group(DeliveryAttempt.objects.all(), group="id", value="id", fraction=1.5)
