"""Webhook test fixtures: a live receiver and the settings that send to it."""

import pytest

from tests.mailserver import mail_settings, smtp_port, smtp_server  # noqa: F401  fixtures
from tests.receiver import Receiver
from tests.webhooks.factories import SECRET


@pytest.fixture
def receiver():
    with Receiver(secret=SECRET) as running:
        yield running


@pytest.fixture
def sending(settings, receiver):
    """Settings that send to the test receiver on loopback, with a long retry schedule."""
    settings.WEBHOOK_SECRET = SECRET
    settings.WEBHOOK_URL = receiver.url
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_RETRY_SCHEDULE = "60,300"
    settings.WEBHOOK_TIMEOUT = 2.0
    settings.WEBHOOK_RATE_LIMIT = 0
    settings.WEBHOOK_LEASE_SECONDS = 30
    return settings
