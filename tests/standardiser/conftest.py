"""A local OpenAI-compatible server, and settings that turn the standardiser on against it."""

import pytest

from tests.aifake import FakeModelServer


@pytest.fixture
def fake_model(settings):
    """The fake model, with AI_BASE_URL and AI_MODEL pointing at it."""
    with FakeModelServer() as model:
        settings.AI_BASE_URL = model.base_url
        settings.AI_MODEL = "fake-1"
        settings.AI_API_KEY = ""
        settings.AI_ENABLED = True
        settings.AI_TIMEOUT = 5
        yield model
