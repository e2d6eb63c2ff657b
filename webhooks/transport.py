"""HTTP transport for webhooks: endpoint checks (SSRF), pinned-IP keep-alive pools, no redirects."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3
import urllib3.connection
from urllib3.exceptions import HTTPError as Urllib3Error

from webhooks.retry import parse_retry_after

BODY_EXCERPT_BYTES = 1024
MAX_DRAIN_BYTES = 64 * 1024  # read past the excerpt this far to keep the connection reusable
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


@dataclass
class SendResult:
    ok: bool  # 2xx
    status_code: int | None
    duration_ms: int
    body_excerpt: str = ""
    error: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class ResolvedEndpoint:
    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    ip: str  # the checked address that is connected to
    ips: tuple[str, ...] = field(default=())  # every resolved address (all were checked)
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
    return ResolvedEndpoint(
        url=url, scheme=scheme, host=host, port=port, ip=ip, ips=tuple(addresses), path=path
    )


class _OneWriteMixin:
    """Send the request head and a bytes body in one write instead of two.

    urllib3 writes headers and body separately; one write halves the syscalls per webhook.
    Whatever is still held when ``request`` returns is flushed, so nothing is ever lost.
    """

    _held: bytes | None = None
    _holding = False

    def request(self, *args, **kwargs):
        self._holding = True
        try:
            super().request(*args, **kwargs)
        except BaseException:
            self._held = None  # the request failed: nothing more goes on this connection
            raise
        finally:
            self._holding = False
        held, self._held = self._held, None
        if held is not None:
            super().send(held)

    def send(self, data):
        if not self._holding or not isinstance(data, bytes | bytearray):
            held, self._held = self._held, None
            if held is not None:
                super().send(held)
            return super().send(data)
        if self._held is None:
            self._held = bytes(data)  # the head: wait for the body
            return None
        data, self._held = self._held + data, None
        return super().send(data)


class _HTTPConnection(_OneWriteMixin, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_OneWriteMixin, urllib3.connection.HTTPSConnection):
    pass


class Transport:
    """Sends webhook POSTs; one per worker process (thread-safe).

    Pools are keyed by (scheme, host, port, ip): a connection is only reused for the
    address that was checked, and TLS verifies the certificate against the host name.
    """

    def __init__(
        self,
        *,
        timeout: float,
        allow_private_networks: bool,
        max_pools: int = 256,
        connections_per_pool: int = 8,
        dns_cache_seconds: float = 30.0,
        ca_certs: str | None = None,
    ):
        if timeout <= 0:
            raise ValueError("timeout must be > 0 seconds")
        self.timeout = float(timeout)
        self.allow_private_networks = allow_private_networks
        self.max_pools = max_pools
        self.connections_per_pool = connections_per_pool
        self.dns_cache_seconds = dns_cache_seconds
        self.ca_certs = ca_certs
        self._pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = (
            OrderedDict()
        )
        # Caching only endpoints that passed the check: lookups cost a DNS round trip per
        # request otherwise, and a cached entry still pins the address that was checked.
        self._resolved: dict[str, tuple[float, ResolvedEndpoint]] = {}
        self._lock = threading.Lock()

    def resolve(self, url: str) -> ResolvedEndpoint:
        now = time.monotonic()
        with self._lock:
            cached = self._resolved.get(url)
        if cached is not None and cached[0] > now:
            return cached[1]
        endpoint = check_endpoint(url, allow_private_networks=self.allow_private_networks)
        if self.dns_cache_seconds > 0:
            with self._lock:
                if len(self._resolved) >= 4 * self.max_pools:
                    self._resolved.clear()
                self._resolved[url] = (now + self.dns_cache_seconds, endpoint)
        return endpoint

    def _pool(self, endpoint: ResolvedEndpoint) -> urllib3.HTTPConnectionPool:
        key = (endpoint.scheme, endpoint.host, endpoint.port, endpoint.ip)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            common = {
                "host": endpoint.ip,
                "port": endpoint.port,
                "maxsize": self.connections_per_pool,
                "block": False,
                "retries": False,
                "timeout": urllib3.Timeout(total=self.timeout),
            }
            if endpoint.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    **common,
                    server_hostname=endpoint.host,  # SNI
                    assert_hostname=endpoint.host,  # certificate must match the name, not the IP
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=self.ca_certs or _default_ca_certs(),
                )
                pool.ConnectionCls = _HTTPSConnection
            else:
                pool = urllib3.HTTPConnectionPool(**common)
                pool.ConnectionCls = _HTTPConnection
            self._pools[key] = pool
            evicted = []
            while len(self._pools) > self.max_pools:
                evicted.append(self._pools.popitem(last=False)[1])
        for old in evicted:
            old.close()
        return pool

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POST ``body`` as is; raise EndpointRefused for a refused endpoint, else report."""
        if not isinstance(body, bytes | bytearray | memoryview):
            raise TypeError("body must be the exact signed bytes, not str")
        endpoint = self.resolve(url)
        pool = self._pool(endpoint)
        send_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
        send_headers["Host"] = endpoint.host_header  # we connect to the IP, so name the host
        started = time.monotonic()
        try:
            response = pool.urlopen(
                "POST",
                endpoint.path,
                body=bytes(body),
                headers=send_headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(total=self.timeout),
                preload_content=False,
                release_conn=False,
            )
        except (Urllib3Error, OSError) as exc:
            return SendResult(
                ok=False, status_code=None, duration_ms=_elapsed_ms(started), error=_describe(exc)
            )
        status = response.status
        ok = 200 <= status < 300
        error = ""
        excerpt = b""
        reusable = False
        try:
            excerpt = response.read(BODY_EXCERPT_BYTES, decode_content=False) or b""
            reusable = self._drain(response, started)
        except (Urllib3Error, OSError) as exc:
            # The status line is the receiver's answer; a slow or broken body only matters
            # when the answer was a failure anyway.
            if not ok:
                error = _describe(exc)
        finally:
            if not reusable:
                response.close()  # unread body left: this connection cannot be reused
            response.release_conn()
        return SendResult(
            ok=ok,
            status_code=status,
            duration_ms=_elapsed_ms(started),
            body_excerpt=excerpt.decode("utf-8", errors="replace"),
            error=error,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _drain(self, response: urllib3.BaseHTTPResponse, started: float) -> bool:
        """Read the rest of a small body so the connection goes back to the pool."""
        drained = 0
        deadline = started + self.timeout
        while drained <= MAX_DRAIN_BYTES and time.monotonic() < deadline:
            chunk = response.read(16 * 1024, decode_content=False)
            if not chunk:
                return True
            drained += len(chunk)
        return False

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
            self._resolved.clear()
        for pool in pools:
            pool.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _default_ca_certs() -> str | None:
    try:
        import certifi  # same trust store as requests; the OS store when missing
    except ImportError:  # pragma: no cover - certifi ships with requests
        return None
    return certifi.where()


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: BaseException) -> str:
    # urllib3 wraps the useful part (timeout, refused, TLS) in reason/args; keep it short.
    reason = getattr(exc, "reason", None)
    text = f"{type(exc).__name__}: {exc}"
    if reason is not None and str(reason) not in text:
        text = f"{text} ({reason})"
    return text[:1000]
