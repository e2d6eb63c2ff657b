"""The company provider client against a fake provider over real HTTP on loopback."""

import itertools
import json
import threading
import time

import pytest

from leads.enrichment.provider_http import (
    DEFAULT_CACHE_HOURS,
    DEFAULT_CHUNK_BUDGET_SECONDS,
    DEFAULT_RATE_LIMIT,
    MAX_ANSWER_BYTES,
    MAX_ATTEMPTS,
    PROVIDER_TIMEOUT_SECONDS,
    CompanyProvider,
    clean_text,
)
from leads.enrichment.ratelimit import FileRateLimiter
from tests.envsettings import settings_from_env
from tests.leads.provider_support import ACME, FakeProvider
from tests.receiver import Drip


class NoLimit:
    def acquire(self, key, rate, *, timeout):
        return True


def client(provider, *, timeout=2.0, limiter=None, rate=0.0, api_key="k-123"):
    return CompanyProvider(
        url=provider.url, api_key=api_key, limiter=limiter or NoLimit(), rate=rate, timeout=timeout
    )


def later(seconds=10.0):
    return time.monotonic() + seconds


@pytest.fixture
def provider():
    with FakeProvider({"acme.co.uk": ACME}) as server:
        yield server


def test_settings_default_off_and_tied_to_the_constants():
    settings = settings_from_env()

    assert settings.ENRICH_COMPANY_URL == ""
    # The step runs all the same, answering not_configured: a payload always has its key.
    assert settings.LEAD_ENRICHERS[-1] == "leads.enrichment.CompanyProviderEnricher"
    assert settings.ENRICH_COMPANY_RATE_LIMIT == DEFAULT_RATE_LIMIT
    assert settings.ENRICH_CACHE_HOURS == DEFAULT_CACHE_HOURS == 720
    assert settings.ENRICH_CHUNK_BUDGET_SECONDS == DEFAULT_CHUNK_BUDGET_SECONDS == 60


def test_settings_with_a_url_add_the_provider_step_and_refuse_nonsense():
    settings = settings_from_env(
        ENRICH_COMPANY_URL="https://companies.example/v1/lookup",
        ENRICH_COMPANY_API_KEY="secret",
        ENRICH_COMPANY_RATE_LIMIT="2.5",
        ENRICH_CACHE_HOURS="24",
        ENRICH_CHUNK_BUDGET_SECONDS="30",
    )

    assert settings.LEAD_ENRICHERS[-1] == "leads.enrichment.CompanyProviderEnricher"
    assert (settings.ENRICH_COMPANY_RATE_LIMIT, settings.ENRICH_CACHE_HOURS) == (2.5, 24)
    assert settings.ENRICH_CHUNK_BUDGET_SECONDS == 30
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="ENRICH_COMPANY_URL"):
        settings_from_env(ENRICH_COMPANY_URL="companies.example/lookup")
    with pytest.raises(ImproperlyConfigured, match="ENRICH_CHUNK_BUDGET_SECONDS"):
        settings_from_env(ENRICH_CHUNK_BUDGET_SECONDS="0")


def test_the_pipelines_client_waits_5_s_a_request_at_the_configured_rate(settings):
    from leads.services.company import company_provider

    settings.ENRICH_COMPANY_URL = "http://127.0.0.1:9/lookup"
    settings.ENRICH_COMPANY_API_KEY = "k-5"
    settings.ENRICH_COMPANY_RATE_LIMIT = 2.5
    client = company_provider()

    assert client.timeout == PROVIDER_TIMEOUT_SECONDS == 5
    assert (client.url, client.rate) == ("http://127.0.0.1:9/lookup", 2.5)
    assert client.session.headers["Authorization"] == "Bearer k-5"
    assert MAX_ATTEMPTS == 3, "the request and two retries"


def test_found_company_is_asked_by_domain_with_the_bearer_key(provider):
    answer = client(provider).lookup("acme.co.uk", deadline=later())

    assert (answer.status, answer.fields) == ("ok", ACME)
    (request,) = provider.requests
    assert request.method == "GET"
    assert request.path == "/company?domain=acme.co.uk"
    assert request.headers["authorization"] == "Bearer k-123"


@pytest.mark.parametrize(
    "answer",
    [
        (404, {}, b"nope"),
        (204, {}, b""),
        (200, {}, b""),
        (200, {}, b"{}"),
        (200, {}, b"null"),
        (200, {}, b'{"name": "", "size": null, "location": "  ", "industry": []}'),
    ],
)
def test_unknown_or_empty_answer_is_not_found(provider, answer):
    provider.script["nobody.example"] = [answer]

    result = client(provider).lookup("nobody.example", deadline=later())

    assert result.status == "not_found"
    assert len(provider.requests) == 1, "not found is an answer, never retried"


def test_429_is_retried_after_its_retry_after_then_answers(provider):
    provider.script["acme.co.uk"] = [(429, {"Retry-After": "1"}, b"slow down")]

    answer = client(provider).lookup("acme.co.uk", deadline=later())

    assert answer.status == "ok"
    first, second = provider.requests
    assert second.received_at - first.received_at >= 0.95, "Retry-After: 1 was honoured"


def test_a_retry_after_too_long_for_the_chunk_fails_without_waiting(provider):
    provider.script["acme.co.uk"] = [(429, {"Retry-After": "3600"}, b"")]
    started = time.monotonic()

    answer = client(provider).lookup("acme.co.uk", deadline=later())

    assert (answer.status, answer.reason) == ("failed", "http_429")
    assert time.monotonic() - started < 1
    assert len(provider.requests) == 1


def test_5xx_is_retried_with_backoff_then_failed(provider):
    provider.script["acme.co.uk"] = [(500, {}, b"boom")] * 5

    answer = client(provider).lookup("acme.co.uk", deadline=later())

    assert (answer.status, answer.reason) == ("failed", "http_500")
    assert len(provider.requests) == MAX_ATTEMPTS
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(provider.requests)]
    assert gaps[0] >= 0.5 and gaps[1] >= 1.5, "backoff grows between attempts"


def test_other_client_errors_fail_at_once(provider):
    provider.script["acme.co.uk"] = [(401, {}, b"bad key")]

    answer = client(provider).lookup("acme.co.uk", deadline=later())

    assert (answer.status, answer.reason) == ("failed", "http_401")
    assert len(provider.requests) == 1


def test_a_slow_provider_times_out_and_is_retried(provider):
    provider.script["acme.co.uk"] = [("sleep", 3), ("sleep", 3), ("sleep", 3)]
    started = time.monotonic()

    answer = client(provider, timeout=0.5).lookup("acme.co.uk", deadline=later(2.5))

    assert (answer.status, answer.reason) == ("failed", "timeout")
    assert len(provider.requests) >= 2, "a timeout is retried"
    assert time.monotonic() - started < 3, "the deadline bounds the retries"


def test_a_dripping_answer_is_cut_by_the_wall_clock(provider):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 200
    provider.script["acme.co.uk"] = [Drip(head, every=0.05)] * MAX_ATTEMPTS
    started = time.monotonic()

    answer = client(provider, timeout=0.6).lookup("acme.co.uk", deadline=later(1.0))

    assert (answer.status, answer.reason) == ("failed", "timeout")
    assert time.monotonic() - started < 2, "no read timeout fires on a drip: the watchdog does"


def test_a_huge_answer_is_not_read_past_the_cap(provider):
    unannounced = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"{" * (20 * MAX_ANSWER_BYTES)
    provider.script["acme.co.uk"] = [
        Drip(unannounced, every=0.001, step=65536),
        (200, {}, b" " * (MAX_ANSWER_BYTES + 1)),
    ]
    cli = client(provider)

    for _ in range(2):
        answer = cli.lookup("acme.co.uk", deadline=later())
        assert (answer.status, answer.reason) == ("failed", "answer_too_large")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"Acme"', b"[" * 60_000])
def test_bad_json_fails_without_retry(provider, body):
    provider.script["acme.co.uk"] = [(200, {}, body)]

    answer = client(provider).lookup("acme.co.uk", deadline=later())

    assert (answer.status, answer.reason) == ("failed", "bad_answer")
    assert len(provider.requests) == 1


def test_wrong_types_and_long_or_control_text_are_coerced(provider):
    provider.companies["odd.example"] = {
        "name": ["Acme"],
        "size": 250,
        "location": {"city": "Leeds"},
        "industry": "Wid\x00gets\n\tand " + "x" * 1000,
        "extra": "ignored",
    }

    answer = client(provider).lookup("odd.example", deadline=later())

    assert answer.status == "ok"
    assert answer.fields["name"] is None and answer.fields["location"] is None
    assert answer.fields["size"] == "250"
    assert answer.fields["industry"].startswith("Wid gets and xxx")
    assert len(answer.fields["industry"]) == 255
    assert set(answer.fields) == {"name", "size", "location", "industry"}


def test_clean_text():
    assert clean_text(True) is None
    assert clean_text(12.5) == "12.5"
    assert clean_text(float("nan")) is None
    assert clean_text("  a \u2028 b ") == "a b"


def test_no_request_fits_the_deadline_is_none(provider):
    assert client(provider).lookup("acme.co.uk", deadline=time.monotonic() - 1) is None
    assert provider.requests == []


def test_the_rate_is_held_across_limiters_sharing_the_folder(provider, tmp_path):
    # Separate limiter objects on one folder stand for separate worker processes.
    rate = 10.0
    threads = [
        threading.Thread(
            target=lambda: [
                client(provider, limiter=FileRateLimiter(tmp_path), rate=rate).lookup(
                    "acme.co.uk", deadline=later()
                )
                for _ in range(4)
            ]
        )
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    times = sorted(r.received_at for r in provider.requests)
    assert len(times) == 12
    assert times[-1] - times[0] >= 11 / rate * 0.9, "12 requests at 10/s take 1.1 s"


def test_file_limiter_refuses_a_slot_beyond_the_timeout(tmp_path):
    limiter = FileRateLimiter(tmp_path)
    assert limiter.acquire("k", 1.0, timeout=0)
    started = time.monotonic()
    assert limiter.acquire("k", 1.0, timeout=0.2) is False
    assert time.monotonic() - started < 0.1, "refused at once, not after sleeping"
    (tmp_path / "k.rate").write_bytes(b"garbage")
    assert limiter.acquire("k", 1.0, timeout=0), "an unreadable schedule starts over"
    assert json.loads((tmp_path / "k.rate").read_text()) > time.time()


def test_a_compressed_bomb_is_cut_at_the_cap(provider):
    import gzip

    bomb = gzip.compress(b" " * (64 * 1024 * 1024))
    provider.script["acme.co.uk"] = [(200, {"Content-Encoding": "gzip"}, bomb)]

    answer = client(provider).lookup("acme.co.uk", deadline=later())

    assert len(bomb) < MAX_ANSWER_BYTES < 64 * 1024 * 1024
    assert (answer.status, answer.reason) == ("failed", "answer_too_large")
