"""Store a generated tombstone key when ERASURE_HASH_KEY is not set; hash earlier tombstones.

Tombstones left by retention before this release kept the plain lead id (a name and a birth
date): they become keyed hashes too, like every tombstone from now on.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import migrations

TOMBSTONE_PREFIX = "hmac:"


def store_key_and_hash_tombstones(apps, schema_editor):
    ErasureKey = apps.get_model("leads", "ErasureKey")
    LeadOwner = apps.get_model("leads", "LeadOwner")
    key = settings.ERASURE_HASH_KEY
    if not key:
        stored = ErasureKey.objects.filter(pk=1).first()
        if stored is None:
            stored = ErasureKey.objects.create(pk=1, key=secrets.token_hex(32))
        key = stored.key
    secret = key.encode("utf-8")
    tombstones = LeadOwner.objects.filter(owner__isnull=True).exclude(
        lead_id__startswith=TOMBSTONE_PREFIX
    )
    changed = []
    for owner in tombstones.only("pk", "lead_id").iterator(chunk_size=2000):
        digest = hmac.new(secret, owner.lead_id.encode("utf-8"), hashlib.sha256).hexdigest()
        owner.lead_id = TOMBSTONE_PREFIX + digest
        changed.append(owner)
    LeadOwner.objects.bulk_update(changed, ["lead_id"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0004_erasure_key"),
    ]

    operations = [
        migrations.RunPython(store_key_and_hash_tombstones, migrations.RunPython.noop),
    ]
