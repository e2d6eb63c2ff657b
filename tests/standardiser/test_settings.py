"""The standardiser's settings: off by default, on with a base URL and a model."""

from tests.envsettings import settings_from_env


def test_defaults_leave_the_standardiser_off_with_its_bounds():
    settings = settings_from_env()

    assert settings.AI_ENABLED is False
    assert (settings.AI_BASE_URL, settings.AI_MODEL, settings.AI_API_KEY) == ("", "", "")
    assert settings.AI_MAX_CALLS_PER_BATCH == 500
    assert settings.AI_CONCURRENCY == 4
    assert settings.AI_TIMEOUT == 30
    assert settings.AI_CACHE_DAYS == 30
    assert settings.ENRICH_CHUNK_BUDGET_SECONDS == 60


def test_a_base_url_and_a_model_turn_it_on_and_ai_enabled_false_off():
    on = {"AI_BASE_URL": "https://api.deepseek.com", "AI_MODEL": "deepseek-chat"}

    assert settings_from_env(**on).AI_ENABLED is True
    assert settings_from_env(**on, AI_ENABLED="false").AI_ENABLED is False
    assert settings_from_env(AI_BASE_URL="https://api.deepseek.com").AI_ENABLED is False
