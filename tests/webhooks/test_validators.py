"""The webhook URL rule: no whitespace, at most 500 characters, https unless private networks."""

import pytest
from django.core.exceptions import ValidationError

from batches.models import BatchJob
from webhooks.models import Delivery
from webhooks.validators import WEBHOOK_URL_MAX_LENGTH, validate_webhook_url


@pytest.fixture(autouse=True)
def _public_networks_only(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False


def refusal(url: str) -> str:
    with pytest.raises(ValidationError) as refused:
        validate_webhook_url(url)
    [message] = refused.value.messages
    return message


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/leads",
        "https://hooks.example.com:8443/in?customer=7&kind=lead",
        "HTTPS://HOOKS.EXAMPLE.COM/",
        "https://93.184.216.34/hook",
        "https://[2606:4700:4700::1111]:8443/hook",
        "https://bücher.example/eingang",
    ],
)
def test_https_urls_pass(url):
    validate_webhook_url(url)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/my leads", "https://hooks.example.com/\tin", "https://x.com/\x00"],
)
def test_whitespace_or_control_characters_are_refused(url):
    assert "whitespace" in refusal(url)


def test_at_most_500_characters():
    base = "https://hooks.example.com/"
    validate_webhook_url(base + "a" * (WEBHOOK_URL_MAX_LENGTH - len(base)))
    long = base + "a" * (WEBHOOK_URL_MAX_LENGTH + 1 - len(base))
    assert refusal(long) == "webhook_url must be at most 500 characters (it has 501)."


@pytest.mark.parametrize("url", ["http://hooks.example.com/in", "ftp://hooks.example.com/in"])
def test_anything_but_https_is_refused(url):
    assert refusal(url) == "webhook_url must be an https URL."


def test_plain_http_passes_while_private_networks_are_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    validate_webhook_url("http://127.0.0.1:8080/hook")
    assert refusal("ftp://hooks.example.com/in") == "webhook_url must be an http or https URL."


@pytest.mark.parametrize(
    "url", ["hooks.example.com/in", "https://", "https://-bad-.example.com/", "https://a_b/"]
)
def test_what_is_not_a_url_is_refused(url):
    assert refusal(url) in ("webhook_url must be an https URL.", "webhook_url is not a valid URL.")


def test_the_length_limit_is_the_columns_that_hold_the_url():
    assert BatchJob._meta.get_field("webhook_url").max_length == WEBHOOK_URL_MAX_LENGTH
    assert Delivery._meta.get_field("endpoint").max_length == WEBHOOK_URL_MAX_LENGTH


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://203.0.113.9/hook", "documentation"),
        ("https://[2001:db8::1]:8443/hook", "documentation"),
        ("https://[3fff::1]/", "documentation"),
        ("https://[fec0::1]/", "site-local"),
        ("https://10.0.0.7/hook", "private"),
        ("https://127.0.0.1:8000/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::ffff:10.0.0.1]/hook", "IPv4-mapped"),
        ("https://localhost/hook", "loopback"),
        ("https://api.localhost/hook", "loopback"),
        ("https://user:secret@hooks.example.com/", "credentials"),
    ],
)
def test_address_rules_refuse_at_upload_with_the_reason(url, reason):
    message = refusal(url)

    assert message.startswith("webhook_url is refused: ")
    assert reason in message


def test_host_names_are_not_resolved_at_upload(monkeypatch):
    from webhooks import addresses

    def no_lookups(*args, **kwargs):
        raise AssertionError("an upload must not wait on DNS")

    monkeypatch.setattr(addresses, "_getaddrinfo", no_lookups)

    validate_webhook_url("https://hooks.not-in-dns-yet.example/in")


def test_private_literals_pass_while_private_networks_are_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    validate_webhook_url("http://127.0.0.1:8000/hook")
    validate_webhook_url("https://[fec0::1]/")
