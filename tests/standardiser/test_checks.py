"""The standardiser's bounds are checked at start-up when it is on."""

from django.core.checks import run_checks


def check_ids(settings, **values) -> list[str]:
    for name, value in values.items():
        setattr(settings, name, value)
    return [message.id for message in run_checks() if message.id.startswith("standardiser.")]


def test_working_bounds_pass(settings):
    assert check_ids(settings, AI_ENABLED=True, AI_CONCURRENCY=4, AI_TIMEOUT=30) == []


def test_no_place_for_a_call_is_an_error_only_when_on(settings):
    assert check_ids(settings, AI_ENABLED=True, AI_CONCURRENCY=0) == ["standardiser.E001"]
    assert check_ids(settings, AI_ENABLED=True, AI_CONCURRENCY=1, AI_TIMEOUT=0) == [
        "standardiser.E001"
    ]
    assert check_ids(settings, AI_ENABLED=False, AI_CONCURRENCY=0) == []


def test_a_base_url_without_a_scheme_is_an_error_when_on(settings):
    on = {"AI_ENABLED": True, "AI_MODEL": "deepseek-chat"}

    assert check_ids(settings, **on, AI_BASE_URL="https://api.deepseek.com") == []
    assert check_ids(settings, **on, AI_BASE_URL="http://127.0.0.1:8080/v1") == []
    assert check_ids(settings, **on, AI_BASE_URL="api.deepseek.com") == ["standardiser.E002"]
    assert check_ids(settings, AI_ENABLED=False, AI_BASE_URL="api.deepseek.com") == []
