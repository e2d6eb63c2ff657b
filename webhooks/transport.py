"""HTTP transport for webhooks: pinned-IP keep-alive pools, one POST per call, no redirects."""

from __future__ import annotations

import contextlib
import contextvars
import math
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from webhooks.addresses import ResolvedEndpoint, check_endpoint
from webhooks.retry import parse_retry_after

BODY_EXCERPT_BYTES = 1024
MAX_DRAIN_BYTES = 64 * 1024  # read past the excerpt this far to keep the connection reusable


@dataclass
class SendResult:
    ok: bool  # 2xx
    status_code: int | None
    duration_ms: int
    body_excerpt: str = ""
    error: str = ""
    retry_after: float | None = None


@dataclass(eq=False)
class _Watch:
    """One request's wall-clock deadline, and the connection it runs on once known."""

    deadline: float  # time.monotonic()
    conn: object | None = None
    fired: bool = False
    done: bool = False
    watchdog: _Watchdog | None = field(default=None, repr=False)


class _Watchdog:
    """Shuts down the socket of any request still running at its deadline.

    urllib3's timeouts bound each connect and each read, not the request: a receiver
    dripping one byte inside every read timeout held a sender for minutes. One thread per
    Transport watches every request in flight (one per sending thread) and, at the
    deadline, shuts the socket down, which wakes the blocked read or write at once.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._active: set[_Watch] = set()
        self._wake_at = math.inf  # when the thread next looks, as far as it knows
        self._thread: threading.Thread | None = None

    def watch(self, deadline: float) -> _Watch:
        watch = _Watch(deadline=deadline, watchdog=self)
        with self._cond:
            self._active.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="webhook-request-watchdog", daemon=True
                )
                self._thread.start()
            if deadline < self._wake_at:  # the usual case, a later deadline, needs no wake-up
                self._cond.notify()
        return watch

    def attach(self, watch: _Watch, conn: object) -> None:
        with self._cond:
            watch.conn = conn
            if watch.fired and not watch.done:
                _shut_down(conn)

    def finish(self, watch: _Watch) -> None:
        with self._cond:
            watch.done = True
            self._active.discard(watch)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for watch in [w for w in self._active if w.deadline <= now]:
                    watch.fired = True
                    self._active.discard(watch)
                    if watch.conn is not None:
                        _shut_down(watch.conn)
                self._wake_at = min((w.deadline for w in self._active), default=math.inf)
                self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)


def _shut_down(conn: object) -> None:
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        # The plain socket's shutdown, also under TLS: the TLS object is left to the thread
        # reading it, which sees the end of the stream and gives up.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


# The request the current thread is making, so the pool can hand its connection to the
# watchdog: a new connection is watched while it connects and shakes hands too.
_current_watch: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar(
    "webhook_request_watch", default=None
)


class _WatchedPoolMixin:
    def _get_conn(self, timeout: float | None = None):
        conn = super()._get_conn(timeout)
        watch = _current_watch.get()
        if watch is not None and watch.watchdog is not None:
            watch.watchdog.attach(watch, conn)
        return conn


class _WatchedHTTPConnectionPool(_WatchedPoolMixin, urllib3.HTTPConnectionPool):
    pass


class _WatchedHTTPSConnectionPool(_WatchedPoolMixin, urllib3.HTTPSConnectionPool):
    pass


class Transport:
    """Sends webhook POSTs; one per worker process (thread-safe).

    Pools connect to the checked IP, never to the name, so a second lookup cannot rebind
    it. urllib3 keys them by (scheme, IP, port) and, over https, the host name TLS sends
    as SNI and verifies the certificate against: a connection is only reused for the
    address that was checked, under the name it was checked for.

    ``timeout`` bounds each request as a whole by the wall clock: the lookup when the
    cached one has expired, connect and TLS, sending, the status line, headers and body.
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
        self.dns_cache_seconds = dns_cache_seconds
        self._pools = urllib3.PoolManager(
            num_pools=max_pools,  # least recently used pools are closed past this
            maxsize=connections_per_pool,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(total=self.timeout),
            cert_reqs="CERT_REQUIRED",  # dropped by urllib3 for http pools, as are the names
            ca_certs=ca_certs or _default_ca_certs(),
        )
        self._pools.pool_classes_by_scheme = {
            "http": _WatchedHTTPConnectionPool,
            "https": _WatchedHTTPSConnectionPool,
        }
        self._watchdog = _Watchdog()
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
        names = None
        if endpoint.scheme == "https":
            # SNI, and the certificate must match the name, not the IP connected to.
            names = {"server_hostname": endpoint.host, "assert_hostname": endpoint.host}
        return self._pools.connection_from_host(
            endpoint.ip, endpoint.port, endpoint.scheme, pool_kwargs=names
        )

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POST ``body`` as is; raise EndpointRefused for a refused endpoint, else report."""
        if not isinstance(body, bytes | bytearray | memoryview):
            raise TypeError("body must be the exact signed bytes, not str")
        started = time.monotonic()
        deadline = started + self.timeout
        endpoint = self.resolve(url)
        pool = self._pool(endpoint)
        send_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
        send_headers["Host"] = endpoint.host_header  # we connect to the IP, so name the host
        left = deadline - time.monotonic()
        if left <= 0:  # the lookup alone took the whole timeout
            return SendResult(
                ok=False, status_code=None, duration_ms=_elapsed_ms(started), error=self._late()
            )
        watch = self._watchdog.watch(deadline)
        response = None
        try:
            token = _current_watch.set(watch)
            try:
                response = pool.urlopen(
                    "POST",
                    endpoint.path,
                    body=bytes(body),
                    headers=send_headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=urllib3.Timeout(total=left),
                    preload_content=False,
                    release_conn=False,
                )
            except (Urllib3Error, OSError) as exc:
                error = self._late() if watch.fired else _describe(exc)
                return SendResult(
                    ok=False, status_code=None, duration_ms=_elapsed_ms(started), error=error
                )
            finally:
                _current_watch.reset(token)
            return self._read_answer(response, watch, started)
        finally:
            # Before the connection goes back to the pool: never shut down one reused.
            self._watchdog.finish(watch)
            if response is not None:
                response.release_conn()

    def _read_answer(
        self, response: urllib3.BaseHTTPResponse, watch: _Watch, started: float
    ) -> SendResult:
        status = response.status
        ok = 200 <= status < 300
        error = ""
        excerpt = b""
        reusable = False
        try:
            excerpt = response.read(BODY_EXCERPT_BYTES, decode_content=False) or b""
            reusable = self._drain(response, watch.deadline)
        except (Urllib3Error, OSError) as exc:
            # The status line is the receiver's answer; a slow or broken body only matters
            # when the answer was a failure anyway.
            if not ok:
                error = self._late() if watch.fired else _describe(exc)
        finally:
            if not reusable or watch.fired:
                response.close()  # unread body left: this connection cannot be reused
        return SendResult(
            ok=ok,
            status_code=status,
            duration_ms=_elapsed_ms(started),
            body_excerpt=excerpt.decode("utf-8", errors="replace"),
            error=error,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _late(self) -> str:
        return (
            f"TimeoutError: the request timed out after {self.timeout:g} s "
            "(the timeout bounds the whole request)"
        )

    def _drain(self, response: urllib3.BaseHTTPResponse, deadline: float) -> bool:
        """Read the rest of a small body so the connection goes back to the pool."""
        drained = 0
        while drained <= MAX_DRAIN_BYTES and time.monotonic() < deadline:
            chunk = response.read(16 * 1024, decode_content=False)
            if not chunk:
                return True
            drained += len(chunk)
        return False

    def close(self) -> None:
        with self._lock:
            self._resolved.clear()
        self._pools.clear()  # closes every pool

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
