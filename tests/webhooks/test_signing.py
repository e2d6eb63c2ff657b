"""Signing follows Standard Webhooks: the reference library verifies what we produce."""

import base64
import json
import re
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from valify.jsontext import JsonFragment
from webhooks.signing import (
    new_message_id,
    new_message_ids,
    payload_bytes,
    payload_text,
    secret_key,
    sign,
    signed_headers,
)

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def test_ascii_body_verifies_with_standardwebhooks():
    body = payload_bytes({"event": "lead.validated", "lead": {"name": "John Smith"}})
    headers = signed_headers(secret=SECRET, msg_id=new_message_id(), body=body)

    assert Webhook(SECRET).verify(body, headers) == {
        "event": "lead.validated",
        "lead": {"name": "John Smith"},
    }


def test_non_ascii_body_verifies_with_standardwebhooks():
    body = payload_bytes({"lead": {"name": "José Núñez"}})
    headers = signed_headers(secret=SECRET, msg_id=new_message_id(), body=body)

    assert "José Núñez".encode() in body  # kept as UTF-8, not \\u escapes
    assert Webhook(SECRET).verify(body, headers) == {"lead": {"name": "José Núñez"}}


def test_tampered_body_is_rejected_by_standardwebhooks():
    body = payload_bytes({"lead": {"name": "José Núñez"}, "valid": True})
    headers = signed_headers(secret=SECRET, msg_id=new_message_id(), body=body)
    tampered = body.replace(b"true", b"false")

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, headers)


def test_ten_minute_old_timestamp_is_rejected_by_standardwebhooks():
    body = payload_bytes({"lead": {"name": "José Núñez"}})
    stale = int(time.time()) - 600
    headers = signed_headers(secret=SECRET, msg_id=new_message_id(), body=body, timestamp=stale)

    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(SECRET).verify(body, headers)


def test_signature_matches_the_reference_library_signature():
    from datetime import UTC, datetime

    body = payload_bytes({"name": "José Núñez"})
    ours = sign(secret=SECRET, msg_id="msg_abc", timestamp=1_700_000_000, body=body)
    theirs = Webhook(SECRET).sign(
        "msg_abc", datetime.fromtimestamp(1_700_000_000, tz=UTC), body.decode()
    )

    assert ours == theirs
    assert ours.startswith("v1,")


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_", "no key after 'whsec_'"),
        ("whsec_not*base64!", "not valid standard base64"),
        ("whsec_abc-def_ghi", "not valid standard base64"),  # url-safe alphabet
        ("whsec_=", "no key after 'whsec_'"),
    ],
)
def test_bad_secrets_are_refused_with_a_clear_message(secret, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        secret_key(secret)


def test_unpadded_secret_gives_the_same_key_as_the_library():
    key = b"sixteen byte key!"  # 17 bytes: its base64 needs padding
    padded = base64.b64encode(key).decode()
    assert padded.endswith("=")

    assert secret_key("whsec_" + padded.rstrip("=")) == key
    assert Webhook("whsec_" + padded.rstrip("="))._whsecret == key


def test_message_id_is_msg_and_32_hex_digits():
    ids = {new_message_id() for _ in range(100)}

    assert len(ids) == 100
    for msg_id in ids:
        assert re.fullmatch(r"msg_[0-9a-f]{32}", msg_id)
        assert "." not in msg_id  # "." separates the signed parts


def test_message_ids_are_time_ordered(monkeypatch):
    # New deliveries' ids go to the end of the msg_id index, not to random pages of it.
    clock = [1_700_000_000_000_000_000, 1_700_000_000_001_000_000]
    monkeypatch.setattr(time, "time_ns", lambda: clock[0] if len(clock) == 1 else clock.pop(0))
    earlier, later = new_message_ids(3), new_message_ids(3)

    assert all(msg_id.startswith(f"msg_{1_700_000_000_000:012x}") for msg_id in earlier)
    assert max(earlier) < min(later)
    assert len(set(earlier) | set(later)) == 6  # the random part tells ids of one call apart


def test_payload_bytes_are_compact_utf8_with_sorted_keys():
    body = payload_bytes({"b": 1, "a": {"z": "Núñez", "y": [1, 2]}})

    assert body == '{"a":{"y":[1,2],"z":"Núñez"},"b":1}'.encode()
    assert payload_bytes({"a": 1, "b": 2}) == payload_bytes({"b": 2, "a": 1})


@pytest.mark.parametrize(
    "payload",
    [
        {"b": 1, "a": {"z": "Núñez", "y": [1, 2.5, None, True]}},
        {"text": 'quote " back \\ nl \n tab \t nul \x00 del \x7f sep \u2028 emoji 😀'},
        {"Ünïcode kéy": 1, "Zebra": 2, "apple": 3, "日本": [{"ß": "x", "s": "y"}]},
        {"extra": JsonFragment('{"Source": "fair", "Account Name": "Acme", "n": 2}'), "id": "x"},
        {"big": 2**70, "neg": -1, "float": 1e-7},
    ],
)
def test_payload_text_is_payload_bytes_as_text(payload):
    # The stored body is sent as it is: it must be the bytes payload_bytes() would give.
    decoded = {
        key: json.loads(value.text) if isinstance(value, JsonFragment) else value
        for key, value in payload.items()
    }

    assert payload_text(payload).encode() == payload_bytes(decoded)


def test_payload_bytes_refuses_nan():
    with pytest.raises(ValueError):
        payload_bytes({"score": float("nan")})


def test_sign_refuses_a_str_body():
    with pytest.raises(TypeError, match="bytes"):
        sign(secret=SECRET, msg_id="msg_x", timestamp=1, body='{"name":"José"}')


def test_signed_headers_carry_id_timestamp_type_and_agent():
    body = payload_bytes({"a": 1})
    before = int(time.time())
    headers = signed_headers(secret=SECRET, msg_id="msg_0123", body=body)

    assert set(headers) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "user-agent",
    }
    assert headers["webhook-id"] == "msg_0123"
    assert before <= int(headers["webhook-timestamp"]) <= int(time.time())
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "ValifyBatch-Webhooks/1"
    assert json.loads(body) == {"a": 1}


def test_message_ids_in_bulk_are_distinct_and_shaped_as_one_alone():
    ids = new_message_ids(500)

    assert len(set(ids)) == 500
    assert all(re.fullmatch(r"msg_[0-9a-f]{32}", msg_id) for msg_id in ids)
    assert new_message_ids(0) == []
