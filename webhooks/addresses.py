"""Endpoint address rules (SSRF): split a webhook URL, resolve it once, refuse non-public hosts."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

# What is not globally reachable, from the IANA special-purpose address registries
# (iana-ipv4-special-registry, iana-ipv6-special-registry) and the address space
# registries, written out so the check does not depend on the ipaddress tables of the
# Python version running it (3.11 calls fec0::/10 and 3fff::/20 global). Ranges the
# registries mark globally reachable inside a refused block are listed as exceptions.
_V4_REFUSED = (
    ("0.0.0.0/8", "this-network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("255.255.255.255/32", "broadcast"),
)
_V6_REFUSED = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
    ("100::/64", "discard-only"),
    ("100:0:0:1::/64", "dummy"),
    ("2001::/23", "IETF protocol assignment"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6) SID"),
    ("fc00::/7", "unique local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
)
# Globally reachable per the registry, inside 2001::/23 (Teredo, 2001::/32, is judged
# apart, below).
_V6_GLOBAL_EXCEPTIONS = (
    "2001:1::1/128", "2001:1::2/128", "2001:1::3/128", "2001:3::/32", "2001:4:112::/48",
    "2001:20::/28", "2001:30::/28",
)  # fmt: skip
_V6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")  # everything else is unallocated
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: judge the IPv4 inside
_6TO4 = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_V4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible addresses

_V4_NETWORKS = tuple((ipaddress.ip_network(net), name) for net, name in _V4_REFUSED)
_V6_NETWORKS = tuple((ipaddress.ip_network(net), name) for net, name in _V6_REFUSED)
_V6_EXCEPTIONS = tuple(ipaddress.ip_network(net) for net in _V6_GLOBAL_EXCEPTIONS)

# Indirection so tests can stand in a resolver without touching urllib3's own lookups.
_getaddrinfo = socket.getaddrinfo


class EndpointRefused(Exception):
    """The endpoint may never be sent to as configured: a permanent failure, not retried."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class EndpointUnresolvable(EndpointRefused):
    """The endpoint's host name does not resolve now: DNS may recover, so it is retried."""


@dataclass(frozen=True)
class ResolvedEndpoint:
    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    ip: str  # the checked address that is connected to
    path: str = "/"  # path + query, as sent in the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def _not_public_reason(address: str) -> str | None:
    """Why ``address`` is not a globally reachable unicast address, or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        for network, name in _V4_NETWORKS:
            if ip in network:
                return f"a {name} address"
        return None
    if ip in _V4_MAPPED:
        return "an IPv4-mapped IPv6 address"
    # Addresses that carry an IPv4 address a gateway would forward to: judge that one.
    if ip in _NAT64:  # DNS64 answers on IPv6-only networks
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if _not_public_reason(str(embedded)) is not None:
            return "a NAT64 address embedding a non-public IPv4 address"
        return None
    if ip in _6TO4:
        embedded = ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
        if _not_public_reason(str(embedded)) is not None:
            return "a 6to4 address embedding a non-public IPv4 address"
        return None
    if ip in _TEREDO:
        return "a Teredo address"
    for network, name in _V6_NETWORKS:
        if ip in network and not any(ip in exception for exception in _V6_EXCEPTIONS):
            return f"a {name} address"
    if ip in _V4_COMPATIBLE:
        return "an IPv4-compatible IPv6 address (deprecated)"
    if ip not in _V6_GLOBAL_UNICAST:
        return "a reserved (unallocated) IPv6 address"
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ascii_host_name(host: str) -> str:
    """The IDNA (ASCII) form used for DNS, SNI and Host; "" when it has none."""
    try:
        return host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return ""


def _split_url(url: str) -> tuple[str, str, int, str]:
    """Return (scheme, ascii host, port, path) or raise EndpointRefused."""
    if not isinstance(url, str) or not url.strip():
        raise EndpointRefused("endpoint URL is empty")
    if any(ch in url for ch in "\r\n\t ") or not url.isprintable():
        raise EndpointRefused("endpoint URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"endpoint URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise EndpointRefused(f"endpoint URL scheme must be https, not {parts.scheme or 'none'!r}")
    if parts.username is not None or parts.password is not None:
        # Pools are keyed without credentials; refusing beats silently dropping them.
        raise EndpointRefused("endpoint URL must not contain credentials (user:password@)")
    host = parts.hostname
    if not host:
        raise EndpointRefused("endpoint URL has no host")
    if not _is_ip_literal(host):
        host = _ascii_host_name(host)
        if not host:
            raise EndpointRefused(f"endpoint host {parts.hostname!r} is not a valid host name")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or DEFAULT_PORTS[scheme], path


def check_endpoint_address(url: str, *, allow_private_networks: bool) -> None:
    """Apply the address rules that need no lookup; raise EndpointRefused with the reason.

    For a URL given at upload: the scheme, a literal IP (which must be public) and names
    that always mean this machine (``localhost``, ``*.localhost``). Other host names are
    not resolved here: each send resolves, checks and pins the address, and that is the
    check that counts (an answer now may change by then); an upload does not wait on DNS,
    and an endpoint not in DNS yet does not refuse a batch.
    """
    scheme, host, _port, _path = _split_url(url)
    if allow_private_networks:
        return
    if scheme != "https":
        raise EndpointRefused("endpoint URL must use https")
    if _is_ip_literal(host):
        reason = _not_public_reason(host)
        if reason is not None:
            raise EndpointRefused(f"endpoint host {host} is {reason}, not a public one")
    elif host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise EndpointRefused(f"endpoint host {host!r} is this machine (loopback)")


def check_endpoint(url: str, *, allow_private_networks: bool) -> ResolvedEndpoint:
    """Parse, resolve once and check ``url``; raise EndpointRefused with a reason.

    Every resolved address must be public (unless ``allow_private_networks``), so a name
    cannot smuggle an internal address in next to a public one. The returned ``ip`` is
    the address to connect to, which closes the gap a second (rebinding) lookup would open.
    """
    scheme, host, port, path = _split_url(url)
    if scheme != "https" and not allow_private_networks:
        raise EndpointRefused("endpoint URL must use https")
    try:
        infos = _getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise EndpointUnresolvable(f"endpoint host {host!r} does not resolve: {exc}") from None
    addresses: list[str] = []
    for family, *_rest, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = str(sockaddr[0]).split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise EndpointUnresolvable(f"endpoint host {host!r} does not resolve to an IP address")
    if not allow_private_networks:
        for address in addresses:
            reason = _not_public_reason(address)
            if reason is not None:
                raise EndpointRefused(f"endpoint host {host!r} resolves to {address}, {reason}")
    # Prefer IPv4: hosts without IPv6 routes are common, and we make one attempt only.
    ipv4 = [a for a in addresses if ":" not in a]
    ip = (ipv4 or addresses)[0]
    return ResolvedEndpoint(url=url, scheme=scheme, host=host, port=port, ip=ip, path=path)


def url_for_log(url: str) -> str:
    """The URL without what may be a secret (a query string, credentials): receivers put
    tokens there, and logs are read by more people than the endpoint list."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(malformed URL)"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"
