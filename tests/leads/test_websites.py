"""Tests for leads.rules.websites: a website becomes its bare domain."""

import pytest

from leads import rules


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.Example.com/about/", "example.com"),
        ("http://example.co.uk", "example.co.uk"),
        ("www.acme.io/", "acme.io"),
        ("ACME.IO", "acme.io"),
        ("example.com:8080/path?q=1#top", "example.com"),
        ("//cdn.example.org/x", "cdn.example.org"),
        ("https://user@www.shop.example.com/", "shop.example.com"),
        ("sales@acme.io", "acme.io"),
        (" example.com. ", "example.com"),
    ],
)
def test_websites_become_bare_domains(raw, domain):
    assert rules.clean_website(raw) == domain


@pytest.mark.parametrize("raw", ["n/a", "none", "-", "localhost:3000", "not a site.com"])
def test_values_that_are_not_web_addresses_are_only_trimmed(raw):
    assert rules.clean_website(f" {raw} ") == raw
