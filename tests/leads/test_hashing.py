"""Keyed hashes of lead ids: the tombstones' key comes from the setting or the first migrate."""

import hashlib
import hmac

import pytest

from leads.hashing import erasure_hash_key, lead_key_hash, lead_key_hashes
from leads.models import ErasureKey

pytestmark = pytest.mark.django_db


def test_hash_is_hmac_sha256_of_the_value_under_the_setting(settings):
    settings.ERASURE_HASH_KEY = "k3y"

    expected = hmac.new(b"k3y", b"john.smith.15031990", hashlib.sha256).hexdigest()
    assert lead_key_hash("john.smith.15031990") == "hmac:" + expected


def test_without_the_setting_the_key_stored_by_migrate_is_used(settings):
    settings.ERASURE_HASH_KEY = ""

    stored = ErasureKey.objects.get(pk=ErasureKey.SINGLETON_PK)
    assert len(stored.key) == 64
    assert erasure_hash_key() == stored.key.encode()


def test_hash_is_stable_and_differs_per_value(settings):
    settings.ERASURE_HASH_KEY = ""

    hashes = lead_key_hashes(["a.b.01011990", "a.b.02011990"])

    assert hashes["a.b.01011990"] == lead_key_hash("a.b.01011990")
    assert len(set(hashes.values())) == 2
    assert "a.b" not in hashes["a.b.01011990"]
