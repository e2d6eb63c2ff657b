"""Keyed hashes of lead ids: the tombstones erasure and retention leave for de-duplication."""

import hmac
import secrets
from collections.abc import Iterable
from hashlib import sha256

from django.conf import settings
from django.db import IntegrityError, transaction

TOMBSTONE_PREFIX = "hmac:"

# The stored key never changes once written, so each process reads it once.
_stored_key: bytes | None = None


def new_erasure_key() -> str:
    """A fresh random key (what the first migrate stores)."""
    return secrets.token_hex(32)


def erasure_hash_key() -> bytes:
    """The tombstones' key: ERASURE_HASH_KEY, else the one stored by the first migrate."""
    if settings.ERASURE_HASH_KEY:
        return settings.ERASURE_HASH_KEY.encode("utf-8")
    global _stored_key
    if _stored_key is None:
        _stored_key = _read_or_store_key().encode("utf-8")
    return _stored_key


def _read_or_store_key() -> str:
    from leads.models import ErasureKey

    found = ErasureKey.objects.filter(pk=ErasureKey.SINGLETON_PK).values_list("key", flat=True)
    if key := found.first():
        return key
    # Migrate stores one; this covers a database emptied since (a test flush).
    try:
        with transaction.atomic():
            return ErasureKey.objects.create(pk=ErasureKey.SINGLETON_PK, key=new_erasure_key()).key
    except IntegrityError:  # another process stored it first
        return found.get()


def keyed_hash(key: bytes, value: str) -> str:
    """Return "hmac:" and the hex HMAC-SHA256 of a value under `key`."""
    return TOMBSTONE_PREFIX + hmac.new(key, value.encode("utf-8"), sha256).hexdigest()


def lead_key_hash(value: str) -> str:
    """The tombstone of a lead id (or of another key of a person, such as an e-mail)."""
    return keyed_hash(erasure_hash_key(), value)


def lead_key_hashes(values: Iterable[str]) -> dict[str, str]:
    """The tombstone of each value, the key read once."""
    key = erasure_hash_key()
    return {value: keyed_hash(key, value) for value in values}
