"""A fast stdlib-asyncio HTTP/1.1 webhook receiver for tests and benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import inspect
import signal
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float  # time.monotonic()
    verified: bool | None = None  # standardwebhooks verification; None without a secret
    verify_error: str = ""
    connection_id: int = 0  # which accepted connection carried it (keep-alive checks)


@dataclass
class Drip:
    """A raw answer written ``step`` bytes every ``every`` seconds, then the connection closed:
    a receiver that keeps every read of its client busy and never finishes answering."""

    data: bytes
    every: float
    step: int = 1


ResponderResult = tuple[int, dict, bytes] | Drip
Responder = Callable[[ReceivedRequest], ResponderResult | Awaitable[ResponderResult]]


def default_responder(request: ReceivedRequest) -> ResponderResult:
    return 204, {}, b""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _BadRequest(Exception):
    pass


@dataclass
class _Stats:
    connections_accepted: int = 0


class Receiver:
    """An HTTP/1.1 server on its own event loop in a background thread.

    A responder runs on the receiver's loop: return a tuple, or an awaitable of one (an
    ``async def`` responder) to wait without holding up other connections, or a ``Drip``
    to answer a byte at a time.
    """

    def __init__(
        self,
        *,
        secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
        path: str = "/hook",
        ssl_context: ssl.SSLContext | None = None,
        keep_requests: bool = True,
    ):
        self.secret = secret
        self.host = host
        self.port = port
        self.path = path
        self.ssl_context = ssl_context
        self.keep_requests = keep_requests  # off for long benchmarks: only count
        self.requests: list[ReceivedRequest] = []
        self.request_count = 0
        self._responder: Responder = responder or default_responder
        self._webhook = None
        if secret is not None:
            from standardwebhooks import Webhook

            self._webhook = Webhook(secret)
        self._cond = threading.Condition()
        self._stats = _Stats()
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    # -- public API ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}{self.path}"

    @property
    def connections_accepted(self) -> int:
        return self._stats.connections_accepted

    def start(self, *, beside: Receiver | None = None) -> Receiver:
        """Listen, on an event loop of its own or, with ``beside``, on that started receiver's
        (one thread serving several ports, each with its own responder and records)."""
        if beside is not None:
            self._loop = beside._loop
            self._call(self._listen())
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # report bind errors to the caller of start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="webhook-receiver", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is None:  # started beside another
            if self._loop.is_running():
                self._call(self._shutdown())
            self._loop = None
            return
        if self._loop is None or self._thread is None:
            return
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop = None
        self._thread = None

    def pause(self) -> None:
        """Stop listening and drop open connections: new connections are refused."""
        self._call(self._pause())

    def resume(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen())

    def set_responder(self, fn: Responder | None) -> None:
        self._responder = fn or default_responder

    def wait_for(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` requests have arrived, or ``timeout`` passes."""
        with self._cond:
            return self._cond.wait_for(lambda: self.request_count >= n, timeout=timeout)

    def clear(self) -> None:
        with self._cond:
            self.requests.clear()
            self.request_count = 0

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- event loop side ----------------------------------------------------------------

    def _call(self, coro: Awaitable) -> object:
        if self._loop is None:
            raise RuntimeError("receiver is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self),
            self.host,
            self.port,
            ssl=self.ssl_context,
            reuse_address=True,
            backlog=1024,
        )
        self.port = self._server.sockets[0].getsockname()[1]  # keep it for resume()

    async def _pause(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self._connections):
            connection.drop()
        await asyncio.sleep(0)  # let the transports finish closing

    async def _shutdown(self) -> None:
        await self._pause()

    def _record(self, request: ReceivedRequest) -> None:
        if self._webhook is not None:
            try:
                self._webhook.verify(request.body, request.headers, json_parse=False)
                request.verified = True
            except Exception as exc:  # any failure means "not verified"
                request.verified = False
                request.verify_error = f"{type(exc).__name__}: {exc}"
        with self._cond:
            if self.keep_requests:
                self.requests.append(request)
            self.request_count += 1
            self._cond.notify_all()


class _Connection(asyncio.Protocol):
    """One client connection: a buffer-driven HTTP/1.1 parser (Protocol, not streams, so
    the receiver costs little CPU and benchmarks measure the sender)."""

    def __init__(self, receiver: Receiver):
        self.receiver = receiver
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.busy: asyncio.Task | None = None  # an async responder is running
        self.closing = False
        self.connection_id = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        stats = self.receiver._stats
        stats.connections_accepted += 1
        self.connection_id = stats.connections_accepted
        self.receiver._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.receiver._connections.discard(self)
        if self.busy is not None and not self.busy.done():
            self.busy.cancel()

    def drop(self) -> None:
        self.closing = True
        if self.busy is not None and not self.busy.done():
            self.busy.cancel()
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.busy is None:
            self._process()

    def _process(self) -> None:
        # Requests are answered in order; an async responder parks the rest of the buffer.
        while not self.closing:
            try:
                parsed = self._parse()
            except _BadRequest as exc:
                self._write(400, {}, str(exc).encode(), keep_alive=False)
                return
            if parsed is None:
                return
            request, keep_alive = parsed
            self.receiver._record(request)
            try:
                result = self.receiver._responder(request)
            except Exception as exc:  # a broken responder is a 500, not a dead receiver
                result = (500, {}, repr(exc).encode())
            if inspect.isawaitable(result):
                self.busy = asyncio.ensure_future(self._finish(result, keep_alive))
                return
            if isinstance(result, Drip):
                self.busy = asyncio.ensure_future(self._drip(result))
                return
            self._write(*result, keep_alive=keep_alive)

    async def _finish(self, pending: Awaitable, keep_alive: bool) -> None:
        try:
            result = await pending
        except asyncio.CancelledError:
            return
        except Exception as exc:
            result = (500, {}, repr(exc).encode())
        if isinstance(result, Drip):
            await self._drip(result)
            return
        self.busy = None
        if not self.closing:
            self._write(*result, keep_alive=keep_alive)
            self._process()

    async def _drip(self, drip: Drip) -> None:
        try:
            for start in range(0, len(drip.data), drip.step):
                if self.closing or self.transport is None or self.transport.is_closing():
                    return
                self.transport.write(drip.data[start : start + drip.step])
                await asyncio.sleep(drip.every)
        except asyncio.CancelledError:
            return
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def _parse(self) -> tuple[ReceivedRequest, bool] | None:
        buffer = self.buffer
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                raise _BadRequest("request head too large")
            return None
        lines = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            raise _BadRequest("malformed request line") from None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest("malformed header line")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        body_start = head_end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            decoded = _parse_chunked(buffer, body_start)
            if decoded is None:
                return None
            body, end = decoded
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise _BadRequest("bad content-length") from None
            if length < 0 or length > MAX_BODY_BYTES:
                raise _BadRequest("bad content-length")
            end = body_start + length
            if len(buffer) < end:
                return None
            body = bytes(buffer[body_start:end])
        del buffer[:end]
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.0":
            keep_alive = "keep-alive" in connection
        else:
            keep_alive = "close" not in connection
        request = ReceivedRequest(
            method=method,
            path=target,
            headers=headers,
            body=body,
            received_at=time.monotonic(),
            connection_id=self.connection_id,
        )
        return request, keep_alive

    def _write(self, status: int, headers: dict, body: bytes | str, *, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if isinstance(body, str):
            body = body.encode()
        out = [f"HTTP/1.1 {status} {_reason(status)}\r\n"]
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                out.append(f"{name}: {value}\r\n")
        out.append(f"Content-Length: {len(body)}\r\n")
        out.append("Connection: keep-alive\r\n\r\n" if keep_alive else "Connection: close\r\n\r\n")
        self.transport.write("".join(out).encode("latin-1") + body)
        if not keep_alive:
            self.closing = True
            self.transport.close()


def _parse_chunked(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a complete chunked body at ``start``: (body, end offset), or None if partial."""
    parts = []
    position = start
    total = 0
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        try:
            size = int(bytes(buffer[position:line_end]).split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequest("bad chunk size") from None
        position = line_end + 2
        if size == 0:
            # Optional trailers, then the empty line that ends the body.
            while True:
                line_end = buffer.find(b"\r\n", position)
                if line_end < 0:
                    return None
                empty = line_end == position
                position = line_end + 2
                if empty:
                    return b"".join(parts), position
        total += size
        if total > MAX_BODY_BYTES:
            raise _BadRequest("body too large")
        if len(buffer) < position + size + 2:
            return None
        parts.append(bytes(buffer[position : position + size]))
        position += size + 2


def measure_ceiling(receiver: Receiver | str, seconds: float = 2.0, connections: int = 4) -> float:
    """Requests/s the receiver answers from ``connections`` keep-alive http.client threads.

    The client threads share the GIL with an in-process receiver; pass a URL of a receiver
    in another process (``python tests/receiver.py``) to measure the receiver alone.
    """
    url = receiver if isinstance(receiver, str) else receiver.url
    parts = urlsplit(url)
    body = b'{"event":"benchmark","lead":{"name":"Jos\xc3\xa9"}}'
    headers = {"Content-Type": "application/json"}
    counts = [0] * connections
    start_barrier = threading.Barrier(connections + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        start_barrier.wait()
        n = 0
        try:
            while time.monotonic() < deadline[0]:
                conn.request("POST", parts.path or "/", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                n += 1
        finally:
            conn.close()
            counts[index] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    deadline[0] = started + seconds
    start_barrier.wait()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the test webhook receiver.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", default=None)
    parser.add_argument(
        "--no-keep", action="store_true", help="count requests without keeping them (long runs)"
    )
    args = parser.parse_args(argv)
    receiver = Receiver(
        secret=args.secret, host=args.host, port=args.port, keep_requests=not args.no_keep
    ).start()
    print(receiver.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    receiver.stop()


if __name__ == "__main__":
    main()
