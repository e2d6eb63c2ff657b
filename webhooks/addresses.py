"""Endpoint address rules (SSRF): split a webhook URL, resolve it once, refuse non-public hosts."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

# Not covered by ipaddress' is_global on every Python version, so named explicitly.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_IETF_PROTOCOL = ipaddress.ip_network("192.0.0.0/24")  # 3.11 treats most of it as global
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

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
    """Why ``address`` is not a public unicast address, or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        # Addresses that carry an IPv4 address a gateway would forward to: judge that one.
        if any(ip in net for net in _NAT64):  # DNS64 answers on IPv6-only networks
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            if _not_public_reason(str(embedded)) is not None:
                return "a NAT64 address embedding a non-public IPv4 address"
            return None
        if ip.sixtofour is not None and _not_public_reason(str(ip.sixtofour)) is not None:
            return "a 6to4 address embedding a non-public IPv4 address"
        if ip.teredo is not None:
            return "a Teredo address"
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("private", ip.is_private),
        ("special-purpose", isinstance(ip, ipaddress.IPv4Address) and ip in _IETF_PROTOCOL),
        ("not globally routable", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"a {name} address"
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
