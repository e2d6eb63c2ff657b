"""Shared fixtures: uploads built in memory, users with the console's permissions."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytest_plugins = ("tests.integration_support",)


def csv_bytes(
    rows: list[list[str]], *, header=("first_name", "last_name", "dob"), sep=","
) -> bytes:
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture(autouse=True)
def _media_root(request, tmp_path):
    """Keep uploads of each test apart; hash test passwords fast.

    Pure tests run without the Django plugin too, so settings are only touched with it.
    """
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.MEDIA_ROOT = tmp_path / "media"
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        from api.selectors import health_cache_clear

        health_cache_clear()  # each test sees the parts as they are now


@pytest.fixture
def make_upload():
    def make(rows, *, name="leads.csv", header=("first_name", "last_name", "dob"), sep=","):
        return upload(name, csv_bytes(rows, header=header, sep=sep))

    return make


@pytest.fixture
def buffer():
    return io.BytesIO()


@pytest.fixture
def loopback(settings):
    """Sending to receivers on loopback: customers' own secrets and endpoints only (no
    WEBHOOK_SECRET or WEBHOOK_URL), no rate limit, a long retry schedule."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_SECRET = ""
    settings.WEBHOOK_URL = ""
    settings.WEBHOOK_TIMEOUT = 2.0
    settings.WEBHOOK_RATE_LIMIT = 0
    settings.WEBHOOK_RETRY_SCHEDULE = "60,300"
    return settings
