"""Endpoint address rules: URL splitting, one checked lookup, non-public addresses refused."""

import socket

import pytest

from webhooks import addresses as addresses_module
from webhooks.addresses import EndpointRefused, check_endpoint, url_for_log


def fake_resolver(monkeypatch, answers):
    """Make host names resolve to ``answers`` (a name -> [ip] dict); count lookups."""
    calls = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (ip, port),
            )
            for ip in answers[host]
        ]

    monkeypatch.setattr(addresses_module, "_getaddrinfo", fake_getaddrinfo)
    return calls


def test_plain_http_is_refused_without_the_flag():
    with pytest.raises(EndpointRefused, match="https") as excinfo:
        check_endpoint("http://93.184.216.34/hook", allow_private_networks=False)
    assert "https" in excinfo.value.reason


def test_plain_http_is_accepted_with_the_flag():
    endpoint = check_endpoint("http://93.184.216.34/hook", allow_private_networks=True)

    assert (endpoint.scheme, endpoint.ip, endpoint.port) == ("http", "93.184.216.34", 80)


def test_public_https_endpoint_is_accepted():
    endpoint = check_endpoint("https://93.184.216.34:8443/hook?x=1", allow_private_networks=False)

    assert endpoint.url == "https://93.184.216.34:8443/hook?x=1"
    assert (endpoint.scheme, endpoint.host, endpoint.port) == ("https", "93.184.216.34", 8443)
    assert endpoint.ip == "93.184.216.34"
    assert endpoint.path == "/hook?x=1"


NON_PUBLIC = [
    "https://127.0.0.1/hook",
    "https://10.1.2.3/hook",
    "https://192.168.1.20/hook",
    "https://172.16.5.4/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://localhost/hook",
    "https://100.64.0.1/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[2002:a00:1::1]/hook",  # 6to4 wrapping 10.0.0.1
    # Global to Python 3.11's ipaddress, not to the IANA registries.
    "https://[fec0::1]/hook",  # site-local (deprecated)
    "https://[3fff::1]/hook",  # documentation
    "https://[5f00::1]/hook",  # SRv6 SIDs
    "https://[100:0:0:1::1]/hook",  # dummy prefix
    "https://[64:ff9b:1::a00:1]/hook",  # local-use translation
    "https://[2001:2::1]/hook",  # benchmarking
    "https://[2001:db8::1]/hook",  # documentation
    "https://[4000::1]/hook",  # outside 2000::/3: unallocated
    "https://[::a00:1]/hook",  # IPv4-compatible (deprecated)
    "https://[64:ff9b::a00:1]/hook",  # NAT64 wrapping 10.0.0.1
    "https://192.0.0.9/hook",
    "https://198.18.0.1/hook",  # benchmarking
    "https://203.0.113.9/hook",  # documentation
    "https://240.0.0.1/hook",
    "https://255.255.255.255/hook",
]


@pytest.mark.parametrize("url", NON_PUBLIC)
def test_non_public_address_is_refused_without_the_flag(url):
    with pytest.raises(EndpointRefused, match="resolves to") as excinfo:
        check_endpoint(url, allow_private_networks=False)
    assert excinfo.value.reason == str(excinfo.value)


@pytest.mark.parametrize("url", NON_PUBLIC)
def test_non_public_address_is_accepted_with_the_flag(url):
    assert check_endpoint(url, allow_private_networks=True).ip


def test_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    fake_resolver(monkeypatch, {"mixed.example": ["93.184.216.34", "10.0.0.7"]})

    with pytest.raises(EndpointRefused, match=r"10\.0\.0\.7"):
        check_endpoint("https://mixed.example/hook", allow_private_networks=False)


def test_unresolvable_name_is_refused(monkeypatch):
    fake_resolver(monkeypatch, {})

    with pytest.raises(EndpointRefused, match="does not resolve"):
        check_endpoint("https://nowhere.invalid/hook", allow_private_networks=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("hooks.example.com/path", "scheme"),
        ("ftp://93.184.216.34/hook", "scheme"),
        ("https:///hook", "no host"),
        ("https://93.184.216.34:99999/hook", "malformed"),
        ("https://user:pw@93.184.216.34/hook", "credentials"),
        ("https://93.184.216.34/ho ok", "whitespace"),
    ],
)
def test_bad_url_is_refused_with_a_reason(url, reason):
    with pytest.raises(EndpointRefused, match=reason):
        check_endpoint(url, allow_private_networks=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://[2606:4700:4700::1111]/hook",
        "https://[2a00:1450:4001:80b::200e]/hook",
        "https://[2001:4:112::1]/hook",  # AS112: global inside 2001::/23
        "https://[2001:20::1]/hook",  # ORCHIDv2: global inside 2001::/23
        "https://[64:ff9b::5db8:d822]/hook",  # NAT64 wrapping 93.184.216.34
        "https://[2002:5db8:d822::1]/hook",  # 6to4 wrapping 93.184.216.34
        "https://1.1.1.1/hook",
        "https://192.31.196.1/hook",  # AS112: globally reachable
    ],
)
def test_public_addresses_are_accepted(url):
    assert check_endpoint(url, allow_private_networks=False).ip


def test_address_rules_do_not_use_the_ipaddress_tables(monkeypatch):
    """The verdicts hold whatever this Python's ipaddress thinks is global or private."""
    import ipaddress

    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        for name in ("is_global", "is_private", "is_reserved", "is_loopback", "is_link_local",
                     "is_multicast", "is_unspecified", "is_site_local"):  # fmt: skip
            if hasattr(cls, name):
                monkeypatch.setattr(cls, name, property(lambda self: 1 / 0))

    with pytest.raises(EndpointRefused, match="site-local"):
        check_endpoint("https://[fec0::1]/", allow_private_networks=False)
    assert check_endpoint("https://1.1.1.1/", allow_private_networks=False).ip == "1.1.1.1"


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("https://hooks.example.com/in?token=s3cret", "https://hooks.example.com/in?…"),
        ("https://user:pw@hooks.example.com:8443/in", "https://hooks.example.com:8443/in"),
        ("https://hooks.example.com/in", "https://hooks.example.com/in"),
        ("https://[::1", "(malformed URL)"),
    ],
    ids=["query", "credentials", "plain", "malformed"],
)
def test_a_url_is_logged_without_what_may_be_a_secret(url, logged):
    assert url_for_log(url) == logged
