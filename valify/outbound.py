"""Outbound HTTP to other services (the company provider, the AI endpoint), bounded.

Bounded by the wall clock, not only per read: a server dripping a byte inside every read
timeout would otherwise hold the caller for as long as it likes. At the limit the
connection's socket is shut down, which wakes a read or write blocked on it at once. The
body is read up to a cap, so an answer can never be larger than the caller expects.
(The webhook sender has its own, lighter watch on its hot path: webhooks.transport.)
"""

from __future__ import annotations

import contextlib
import socket
import threading

import requests
import urllib3
from requests.adapters import HTTPAdapter


class Watch:
    """One request's wall-clock limit on this thread: ``fired`` once it cut the request."""

    def __init__(self, seconds: float):
        self._lock = threading.Lock()
        self.conn = None
        self.fired = False
        self.done = False
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watch:
        _current.watch = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        _current.watch = None
        with self._lock:
            self.done = True
        self._timer.cancel()

    def attach(self, conn) -> None:
        with self._lock:
            self.conn = conn
            if self.fired:
                _shut_down(conn)

    def _fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            if self.conn is None or not _shut_down(self.conn):
                # No connection yet, or still connecting (no socket): look again shortly.
                self._timer = threading.Timer(0.05, self._fire)
                self._timer.daemon = True
                self._timer.start()


_current = threading.local()


def _shut_down(conn) -> bool:
    sock = getattr(conn, "sock", None)
    if not isinstance(sock, socket.socket):
        return False
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    return True


class _WatchedPoolMixin:
    def _get_conn(self, timeout: float | None = None):
        conn = super()._get_conn(timeout)
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(conn)
        return conn


class _WatchedHTTPPool(_WatchedPoolMixin, urllib3.HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_WatchedPoolMixin, urllib3.HTTPSConnectionPool):
    pass


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def watched_session(*, connections: int) -> requests.Session:
    """A session whose requests a ``Watch`` on the calling thread can cut; no retries of its
    own (callers retry on their own schedule) and up to ``connections`` kept alive."""
    session = requests.Session()
    adapter = _WatchedAdapter(pool_connections=1, pool_maxsize=connections, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def read_capped(response: requests.Response, limit: int) -> bytes | None:
    """The body of a streamed response, or None when it is (or says it is) over ``limit``."""
    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    for part in response.iter_content(chunk_size=8192):
        body += part
        if len(body) > limit:
            return None
    return bytes(body)
