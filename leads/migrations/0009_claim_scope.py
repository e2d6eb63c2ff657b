"""Claims are made per scope (DEDUPE_SCOPE): lead owners gain one, existing claims are sorted in.

Until now every claim was global. With DEDUPE_SCOPE=customer (the default) a live claim moves
to its batch's customer; with `global` it stays global. A tombstone (erased or purged person)
was effective for everyone, and stays so: it moves to `*`, every scope. A plain claim whose
batch is gone names no customer: it becomes a keyed-hash tombstone in every scope too, so it
keeps blocking whoever it blocked before.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import migrations, models

TOMBSTONE_PREFIX = "hmac:"
GLOBAL_SCOPE = "global"
EVERY_SCOPE = "*"


def _hash_key(apps) -> bytes:
    key = settings.ERASURE_HASH_KEY
    if not key:
        ErasureKey = apps.get_model("leads", "ErasureKey")
        stored = ErasureKey.objects.filter(pk=1).first()
        if stored is None:
            stored = ErasureKey.objects.create(pk=1, key=secrets.token_hex(32))
        key = stored.key
    return key.encode("utf-8")


def _keyed_hash(secret: bytes, value: str) -> str:
    return TOMBSTONE_PREFIX + hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def scope_claims(apps, schema_editor):
    BatchJob = apps.get_model("batches", "BatchJob")
    per_customer = getattr(settings, "DEDUPE_SCOPE", "customer") != "global"
    for name, identity in (("LeadOwner", ("lead_id",)), ("LeadContactClaim", ("kind", "value"))):
        model = apps.get_model("leads", name)
        value = identity[-1]
        model.objects.filter(**{f"{value}__startswith": TOMBSTONE_PREFIX}).update(
            scope=EVERY_SCOPE
        )
        if not per_customer:
            model.objects.exclude(scope=EVERY_SCOPE).update(scope=GLOBAL_SCOPE)
            continue
        customers = BatchJob.objects.order_by().values_list("customer_id", flat=True).distinct()
        for customer_pk in list(customers):
            batches = BatchJob.objects.filter(customer_id=customer_pk).values("pk")
            model.objects.exclude(scope=EVERY_SCOPE).filter(batch_id__in=batches).update(
                scope=f"customer:{customer_pk}"
            )
        orphans = model.objects.exclude(scope=EVERY_SCOPE).exclude(scope__startswith="customer:")
        if not orphans.exists():
            continue
        secret = _hash_key(apps)
        for row in orphans.only("pk", *identity).iterator(chunk_size=2000):
            hashed = _keyed_hash(secret, getattr(row, value))
            same = {field: getattr(row, field) for field in identity[:-1]}
            if model.objects.filter(scope=EVERY_SCOPE, **same, **{value: hashed}).exists():
                model.objects.filter(pk=row.pk).delete()
            else:
                model.objects.filter(pk=row.pk).update(
                    scope=EVERY_SCOPE, owner=None, **{value: hashed}
                )


def unscope_claims(apps, schema_editor):
    """Back to one global claim per lead id (value): the oldest of each is kept."""
    for name, identity in (("LeadOwner", "lead_id"), ("LeadContactClaim", "kind, value")):
        table = apps.get_model("leads", name)._meta.db_table
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id NOT IN "
                f"(SELECT MIN(id) FROM {table} GROUP BY {identity})"
            )
            cursor.execute(f"UPDATE {table} SET scope = %s", [GLOBAL_SCOPE])


class Migration(migrations.Migration):
    dependencies = [
        ("batches", "0006_batch_customer"),
        ("leads", "0008_lead_enrichment"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="leadowner",
            name="leadowner_lead_id_unique",
        ),
        migrations.AddField(
            model_name="leadowner",
            name="scope",
            field=models.CharField(
                default=GLOBAL_SCOPE,
                help_text=(
                    "Where the lead id is claimed once: customer:<id>, global, "
                    "or * (every scope)."
                ),
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="leadcontactclaim",
            name="scope",
            field=models.CharField(
                help_text=(
                    "Where the value is claimed once: customer:<id>, global, or * (every scope)."
                ),
                max_length=64,
            ),
        ),
        migrations.RunPython(scope_claims, unscope_claims),
        migrations.AddConstraint(
            model_name="leadowner",
            constraint=models.UniqueConstraint(
                fields=("lead_id", "scope"), name="leadowner_lead_id_scope_unique"
            ),
        ),
    ]
