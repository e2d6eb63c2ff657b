"""Transport against canned answers byte for byte: framing, interim answers, reuse, garbage."""

import contextlib
import socket
import threading

import pytest

from webhooks.transport import Transport


class CannedServer:
    """Answers each request on a connection with the next canned response, byte for byte."""

    def __init__(self, responses: list[bytes]):
        self.responses = list(responses)
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        buffer = b""
        with conn, contextlib.suppress(OSError):
            while self.responses:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest[:length])
                buffer = rest[length:]
                response = self.responses.pop(0)
                conn.sendall(response)
                framed = b"content-length" in response.lower() or b"chunked" in response.lower()
                if b"connection: close" in response.lower() or not framed:
                    return

    def close(self):
        self.sock.close()


@pytest.fixture
def transport():
    with Transport(timeout=2.0, allow_private_networks=True) as running:
        yield running


def serve(*responses: bytes) -> CannedServer:
    return CannedServer(list(responses))


def post(transport, server, body=b'{"a":1}'):
    return transport.post(server.url, body=body, headers={"webhook-id": "msg_1"})


def test_request_carries_the_host_length_headers_and_exact_body(transport):
    server = serve(b"HTTP/1.1 204 No Content\r\n\r\n")
    body = '{"name":"José"}'.encode()

    assert post(transport, server, body).ok

    head, _, sent = server.requests[0].partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "POST /hook HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert "webhook-id: msg_1" in lines
    assert sent == body


def test_chunked_answer_is_read_and_the_connection_reused(transport):
    chunked = (
        b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nbusy\r\n6;x=1\r\n again\r\n0\r\nX-T: 1\r\n\r\n"
    )
    server = serve(chunked, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    first = post(transport, server)
    second = post(transport, server)

    assert (first.status_code, first.body_excerpt) == (500, "busy again")
    assert (second.status_code, second.body_excerpt) == (200, "ok")
    assert server.connections == 1


def test_interim_100_continue_is_skipped(transport):
    server = serve(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
    )

    result = post(transport, server)

    assert (result.ok, result.status_code) == (True, 202)


def test_connection_close_answer_is_not_reused(transport):
    server = serve(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    )

    assert post(transport, server).ok
    assert post(transport, server).ok
    assert server.connections == 2


def test_http_10_answer_without_length_reads_to_the_end(transport):
    server = serve(
        b"HTTP/1.0 503 Service Unavailable\r\nRetry-After: 30\r\n\r\ndown for maintenance"
    )

    result = post(transport, server)

    assert (result.status_code, result.retry_after) == (503, 30.0)
    assert result.body_excerpt == "down for maintenance"


def test_huge_body_is_cut_at_the_excerpt_and_the_connection_dropped(transport):
    body = b"x" * 200_000
    server = serve(
        b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + body,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    )

    first = post(transport, server)
    second = post(transport, server)

    assert first.ok and len(first.body_excerpt) == 1024
    assert second.ok
    assert server.connections == 2


def test_garbage_answer_is_an_error_not_a_crash(transport):
    server = serve(b"SMTP ready\r\n\r\n")

    result = post(transport, server)

    assert not result.ok and result.status_code is None
    assert "SMTP ready" in result.error  # the attempt log shows what came back


def test_connection_closed_before_answering_is_an_error(transport):
    server = serve(b"")  # accepts, reads the request, closes without a word

    result = post(transport, server)

    assert not result.ok and result.status_code is None
    assert "closed" in result.error


def test_header_injection_is_refused(transport):
    server = serve(b"HTTP/1.1 204 No Content\r\n\r\n")

    with pytest.raises(ValueError, match=r"(?i)invalid header"):
        transport.post(server.url, body=b"{}", headers={"x-evil": "a\r\nHost: other"})
    assert server.requests == []
