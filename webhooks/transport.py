"""HTTP transport for webhooks: endpoint checks (SSRF), pinned-IP keep-alive pools, no redirects."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import select
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from webhooks.retry import parse_retry_after

BODY_EXCERPT_BYTES = 1024
MAX_DRAIN_BYTES = 64 * 1024  # read past the excerpt this far to keep the connection reusable
MAX_HEAD_BYTES = 64 * 1024
RECV_BYTES = 64 * 1024
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


class _Connection:
    """One keep-alive connection to a checked address, with its unread input."""

    __slots__ = ("buffer", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def is_idle(self) -> bool:
        """True while the peer has neither closed it nor sent anything unasked."""
        if self.buffer:
            return False
        poller = select.poll()  # not select(): that fails on descriptors above 1023
        try:
            poller.register(self.sock, select.POLLIN)
            return not poller.poll(0)  # readable when idle means EOF or garbage
        except (OSError, ValueError):
            return False

    def fill(self, deadline: float) -> None:
        """Read what is there (waiting until ``deadline``); EOF is an error."""
        self.sock.settimeout(_remaining(deadline))
        chunk = self.sock.recv(RECV_BYTES)
        if not chunk:
            raise ConnectionError("connection closed by the endpoint before the response ended")
        self.buffer += chunk

    def read_line_block(self, deadline: float) -> bytes:
        """Return the response head up to the blank line (consumed from the buffer)."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buffer[:end])
                del self.buffer[: end + 4]
                return head
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise _ProtocolError("response head too large")
            self.fill(deadline)

    def read_line(self, deadline: float) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                return line
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise _ProtocolError("response line too long")
            self.fill(deadline)

    def read(self, n: int, deadline: float) -> bytes:
        """Up to ``n`` bytes: what is buffered, else one read."""
        if not self.buffer:
            self.fill(deadline)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data


class _ProtocolError(Exception):
    """The endpoint's answer is not HTTP/1.x as we speak it."""


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class _Body:
    """Reads a response body by its framing: keeps the first KB, drains a little more."""

    def __init__(self, conn: _Connection, deadline: float):
        self.conn = conn
        self.deadline = deadline
        self.excerpt = bytearray()
        self.read_bytes = 0

    def take(self, data: bytes) -> None:
        if len(self.excerpt) < BODY_EXCERPT_BYTES:
            self.excerpt += data[: BODY_EXCERPT_BYTES - len(self.excerpt)]
        self.read_bytes += len(data)

    def over_limit(self) -> bool:
        return self.read_bytes > BODY_EXCERPT_BYTES + MAX_DRAIN_BYTES

    def sized(self, length: int) -> bool:
        """Read ``length`` bytes; False when it was too long to read (not reusable)."""
        left = length
        while left > 0:
            if self.over_limit():
                return False
            data = self.conn.read(min(left, RECV_BYTES), self.deadline)
            self.take(data)
            left -= len(data)
        return True

    def chunked(self) -> bool:
        while True:
            size_line = self.conn.read_line(self.deadline)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _ProtocolError("bad chunk size in the response") from None
            if size == 0:
                while self.conn.read_line(self.deadline):  # trailers, then the blank line
                    pass
                return True
            if not self.sized(size):
                return False
            if self.conn.read_line(self.deadline):
                raise _ProtocolError("chunk not followed by CRLF in the response")

    def until_close(self) -> None:
        with contextlib.suppress(ConnectionError):
            while not self.over_limit():
                self.take(self.conn.read(RECV_BYTES, self.deadline))


class Transport:
    """Sends webhook POSTs; one per worker process (thread-safe).

    Connections are pooled by (scheme, host, port, ip): one is only reused for the address
    that was checked, and TLS verifies the certificate against the host name (SNI). The
    HTTP/1.1 exchange is done here rather than through urllib3/http.client: a POST and its
    small answer cost about a tenth of the CPU, which is most of what a sender spends.
    Redirects are never followed; the answer's status is the outcome.
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
        # Idle connections per pool key, most recently used last (LRU across pools).
        self._pools: OrderedDict[tuple[str, str, int, str], list[_Connection]] = OrderedDict()
        # Caching only endpoints that passed the check: lookups cost a DNS round trip per
        # request otherwise, and a cached entry still pins the address that was checked.
        self._resolved: dict[str, tuple[float, ResolvedEndpoint]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

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

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POST ``body`` as is; raise EndpointRefused for a refused endpoint, else report."""
        if not isinstance(body, bytes | bytearray | memoryview):
            raise TypeError("body must be the exact signed bytes, not str")
        endpoint = self.resolve(url)
        request = _request_bytes(endpoint, bytes(body), headers)
        started = time.monotonic()
        deadline = started + self.timeout
        conn = None
        try:
            conn = self._checkout(endpoint, deadline)
            conn.sock.settimeout(_remaining(deadline))
            conn.sock.sendall(request)
            status, response_headers, reusable = self._read_head(conn, deadline)
        except (OSError, _ProtocolError, ssl.SSLError) as exc:
            if conn is not None:
                conn.close()
            return SendResult(
                ok=False, status_code=None, duration_ms=_elapsed_ms(started), error=_describe(exc)
            )
        ok = 200 <= status < 300
        reader = _Body(conn, deadline)
        error = ""
        try:
            reusable = self._read_body(reader, status, response_headers) and reusable
        except (OSError, _ProtocolError, ssl.SSLError) as exc:
            # The status line is the receiver's answer; a slow or broken body only matters
            # when the answer was a failure anyway.
            reusable = False
            if not ok:
                error = _describe(exc)
        if reusable:
            self._checkin(endpoint, conn)
        else:
            conn.close()
        return SendResult(
            ok=ok,
            status_code=status,
            duration_ms=_elapsed_ms(started),
            body_excerpt=bytes(reader.excerpt).decode("utf-8", errors="replace"),
            error=error,
            retry_after=parse_retry_after(response_headers.get("retry-after")),
        )

    # -- connections ------------------------------------------------------------------

    def _checkout(self, endpoint: ResolvedEndpoint, deadline: float) -> _Connection:
        key = (endpoint.scheme, endpoint.host, endpoint.port, endpoint.ip)
        stale = []
        conn = None
        with self._lock:
            idle = self._pools.get(key)
            if idle is not None:
                self._pools.move_to_end(key)
                while idle:
                    candidate = idle.pop()
                    if candidate.is_idle():
                        conn = candidate
                        break
                    stale.append(candidate)
        for old in stale:
            old.close()
        return conn or self._connect(endpoint, deadline)

    def _checkin(self, endpoint: ResolvedEndpoint, conn: _Connection) -> None:
        key = (endpoint.scheme, endpoint.host, endpoint.port, endpoint.ip)
        surplus = []
        with self._lock:
            idle = self._pools.setdefault(key, [])
            self._pools.move_to_end(key)
            if len(idle) < self.connections_per_pool:
                idle.append(conn)
            else:
                surplus.append(conn)
            while len(self._pools) > self.max_pools:
                surplus.extend(self._pools.popitem(last=False)[1])
        for old in surplus:
            old.close()

    def _connect(self, endpoint: ResolvedEndpoint, deadline: float) -> _Connection:
        sock = socket.create_connection((endpoint.ip, endpoint.port), timeout=_remaining(deadline))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if endpoint.scheme == "https":
                sock.settimeout(_remaining(deadline))
                # SNI and the certificate check use the host name, not the address.
                sock = self._tls_context().wrap_socket(sock, server_hostname=endpoint.host)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._tls is None:
                context = ssl.create_default_context(cafile=self.ca_certs or _default_ca_certs())
                context.check_hostname = True
                context.verify_mode = ssl.CERT_REQUIRED
                self._tls = context
            return self._tls

    # -- responses --------------------------------------------------------------------

    def _read_head(self, conn: _Connection, deadline: float) -> tuple[int, dict, bool]:
        while True:
            lines = conn.read_line_block(deadline).decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not code.isdigit():
                raise _ProtocolError(f"not an HTTP/1.x response: {lines[0][:100]!r}")
            status = int(code)
            if not 100 <= status < 200 or status == 101:
                break  # 1xx are interim answers (100 Continue, 103 Early Hints): skip them
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _ProtocolError("malformed header line in the response")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            reusable = "keep-alive" in connection
        else:
            reusable = "close" not in connection
        return status, headers, reusable and status != 101

    def _read_body(self, reader: _Body, status: int, headers: dict) -> bool:
        """Read the body by its framing; True when the connection can carry another."""
        if status in (204, 304):
            return True
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return reader.chunked()
        length = headers.get("content-length")
        if length is not None:
            try:
                size = int(length.split(",")[0])
            except ValueError:
                raise _ProtocolError("bad Content-Length in the response") from None
            return reader.sized(size)
        reader.until_close()  # no framing: the body ends when the connection does
        return False

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
            self._resolved.clear()
        for idle in pools:
            for conn in idle:
                conn.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_SKIPPED_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})


def _request_bytes(endpoint: ResolvedEndpoint, body: bytes, headers: Mapping[str, str]) -> bytes:
    """The whole request in one buffer (one write): head, then exactly the signed bytes."""
    path = endpoint.path
    if not path.isascii():
        path = quote(path, safe=_PATH_SAFE)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {endpoint.host_header}",  # we connect to the IP, so name the host
        f"Content-Length: {len(body)}",
    ]
    for name, value in headers.items():
        if name.lower() in _SKIPPED_HEADERS:
            continue
        value = str(value)
        if not _TOKEN.fullmatch(name) or "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} is not a valid HTTP header")
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1") + body


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_PATH_SAFE = "/?#[]@!$&'()*+,;=%:~-._"


def _default_ca_certs() -> str | None:
    try:
        import certifi  # same trust store as requests; the OS store when missing
    except ImportError:  # pragma: no cover - certifi ships with requests
        return None
    return certifi.where()


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: BaseException) -> str:
    # Keep the useful part (timeout, refused, TLS) short; OSErrors name their reason.
    text = f"{type(exc).__name__}: {exc}"
    reason = getattr(exc, "reason", None)
    if reason is not None and str(reason) not in text:
        text = f"{text} ({reason})"
    return text[:1000]
