"""Transport: real HTTP(S) against the test receiver, pinned to the checked address."""

import asyncio
import base64
import shutil
import ssl
import subprocess

import pytest

from tests.receiver import Receiver
from tests.webhooks.test_addresses import fake_resolver
from webhooks.addresses import EndpointRefused
from webhooks.signing import new_message_id, payload_bytes, signed_headers
from webhooks.transport import Transport

SECRET = "whsec_" + base64.b64encode(b"transport-test-key-0123456789abc").decode()


@pytest.fixture
def receiver():
    with Receiver(secret=SECRET) as running:
        yield running


@pytest.fixture
def transport():
    with Transport(timeout=2.0, allow_private_networks=True) as running:
        yield running


def _signed(payload):
    body = payload_bytes(payload)
    return body, signed_headers(secret=SECRET, msg_id=new_message_id(), body=body)


# -- Transport against the receiver ------------------------------------------------------


def test_2xx_is_delivered(receiver, transport):
    receiver.set_responder(lambda request: (200, {"Content-Type": "text/plain"}, b"thanks"))
    body, headers = _signed({"event": "ok"})

    result = transport.post(receiver.url, body=body, headers=headers)

    assert result.ok
    assert result.status_code == 200
    assert result.body_excerpt == "thanks"
    assert result.error == ""
    assert result.retry_after is None
    assert result.duration_ms >= 0


def test_503_with_retry_after_is_not_ok_and_reports_the_delay(receiver, transport):
    receiver.set_responder(lambda request: (503, {"Retry-After": "120"}, b"busy"))
    body, headers = _signed({"event": "busy"})

    result = transport.post(receiver.url, body=body, headers=headers)

    assert not result.ok
    assert result.status_code == 503
    assert result.retry_after == 120.0
    assert result.body_excerpt == "busy"


def test_redirect_is_not_followed(receiver, transport):
    receiver.set_responder(lambda request: (302, {"Location": "/elsewhere"}, b""))
    body, headers = _signed({"event": "moved"})

    result = transport.post(receiver.url, body=body, headers=headers)

    assert not result.ok
    assert result.status_code == 302
    assert receiver.wait_for(1, timeout=1)
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_slow_receiver_is_reported_as_a_timeout(receiver):
    async def slow(request):
        await asyncio.sleep(3)
        return 204, {}, b""

    receiver.set_responder(slow)
    body, headers = _signed({"event": "slow"})

    with Transport(timeout=0.3, allow_private_networks=True) as transport:
        result = transport.post(receiver.url, body=body, headers=headers)

    assert not result.ok
    assert result.status_code is None
    assert "timed out" in result.error.lower()
    assert result.duration_ms < 2000


def test_refused_connection_is_reported_as_an_error(receiver, transport):
    body, headers = _signed({"event": "down"})
    assert transport.post(receiver.url, body=body, headers=headers).ok  # a pooled connection

    receiver.pause()
    down = transport.post(receiver.url, body=body, headers=headers)
    receiver.resume()
    back = transport.post(receiver.url, body=body, headers=headers)

    assert not down.ok
    assert down.status_code is None
    assert "refused" in down.error.lower()
    assert back.ok


def test_posts_reuse_keep_alive_connections(receiver, transport):
    for i in range(50):
        body, headers = _signed({"n": i})
        assert transport.post(receiver.url, body=body, headers=headers).ok

    assert receiver.wait_for(50, timeout=2)
    assert receiver.connections_accepted == 1


def test_connection_is_reused_after_a_large_response_body(receiver, transport):
    receiver.set_responder(lambda request: (200, {}, b"x" * 20_000))
    body, headers = _signed({"event": "big"})

    first = transport.post(receiver.url, body=body, headers=headers)
    second = transport.post(receiver.url, body=body, headers=headers)

    assert first.ok and second.ok
    assert first.body_excerpt == "x" * 1024
    assert receiver.connections_accepted == 1


def test_exact_signed_bytes_arrive_and_verify(receiver, transport):
    body, headers = _signed({"lead": {"name": "José Núñez"}, "score": 0.93})

    assert transport.post(receiver.url, body=body, headers=headers).ok

    assert receiver.wait_for(1, timeout=2)
    received = receiver.requests[0]
    assert received.body == body
    assert received.verified is True, received.verify_error
    assert received.headers["webhook-id"] == headers["webhook-id"]
    assert received.headers["content-type"] == "application/json"


def test_post_refuses_a_private_endpoint_without_the_flag(receiver):
    body, headers = _signed({"event": "ssrf"})

    with (
        Transport(timeout=1, allow_private_networks=False) as transport,
        pytest.raises(EndpointRefused),
    ):
        transport.post(receiver.url.replace("http://", "https://"), body=body, headers=headers)

    assert receiver.request_count == 0


def test_post_refuses_a_str_body(receiver, transport):
    with pytest.raises(TypeError):
        transport.post(receiver.url, body='{"name":"José"}', headers={})


def test_name_is_resolved_once_and_the_checked_address_is_used(receiver, transport, monkeypatch):
    calls = fake_resolver(monkeypatch, {"hooks.example.test": ["127.0.0.1"]})
    body, headers = _signed({"event": "pinned"})
    url = f"http://hooks.example.test:{receiver.port}/hook"

    result = transport.post(url, body=body, headers=headers)

    assert result.ok, result.error
    assert calls == ["hooks.example.test"]
    assert receiver.requests[0].headers["host"] == f"hooks.example.test:{receiver.port}"


# -- HTTPS: SNI and certificate checks against the host name, while connecting to the IP --


def _self_signed(tmp_path, name):
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI is not available to make a test certificate")
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    command = (
        f"openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout {key} -out {cert}"
        f" -subj /CN={name} -addext subjectAltName=DNS:{name}"
    )
    subprocess.run(command.split(), check=True, capture_output=True)
    return cert, key


def _tls_receiver(cert, key, sni_seen):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: sni_seen.append(name)
    return Receiver(secret=SECRET, ssl_context=context)


def test_https_sends_sni_and_verifies_the_certificate_for_the_host_name(tmp_path):
    cert, key = _self_signed(tmp_path, "localhost")
    sni_seen = []
    with _tls_receiver(cert, key, sni_seen) as receiver:
        url = f"https://localhost:{receiver.port}/hook"
        body, headers = _signed({"lead": {"name": "José Núñez"}})
        with Transport(timeout=2, allow_private_networks=True, ca_certs=str(cert)) as transport:
            result = transport.post(url, body=body, headers=headers)

        assert result.ok, result.error
        assert sni_seen == ["localhost"]
        assert receiver.requests[0].verified is True
        assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_https_certificate_for_another_name_fails(tmp_path):
    cert, key = _self_signed(tmp_path, "other.example")
    with _tls_receiver(cert, key, []) as receiver:
        url = f"https://localhost:{receiver.port}/hook"
        body, headers = _signed({"event": "mitm"})
        with Transport(timeout=2, allow_private_networks=True, ca_certs=str(cert)) as transport:
            result = transport.post(url, body=body, headers=headers)

        assert not result.ok
        assert result.status_code is None
        assert "certificate" in result.error.lower() or "hostname" in result.error.lower()
        assert receiver.request_count == 0


def test_https_connection_is_not_reused_for_another_name_on_the_same_address(tmp_path, monkeypatch):
    fake_resolver(monkeypatch, {"localhost": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    cert, key = _self_signed(tmp_path, "localhost")
    with _tls_receiver(cert, key, []) as receiver:
        body, headers = _signed({"event": "shared address"})
        with Transport(timeout=2, allow_private_networks=True, ca_certs=str(cert)) as transport:
            first = transport.post(
                f"https://localhost:{receiver.port}/hook", body=body, headers=headers
            )
            other = transport.post(
                f"https://other.example:{receiver.port}/hook", body=body, headers=headers
            )

        assert first.ok, first.error
        assert not other.ok  # its own connection, and the certificate does not name it
        assert "certificate" in other.error.lower() or "hostname" in other.error.lower()
        assert receiver.request_count == 1
